"""Test harness shared by the tiers: what plays AWS (sam build, the Lambda runtime, the X-Ray
daemon, CloudFormation's intrinsics) and test doubles (a clock, a PKI). No tests here."""
