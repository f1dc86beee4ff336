"""``redis-rotation``: the project's console command (see ``rotation_cli.main``)."""
