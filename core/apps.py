from django.apps import AppConfig


class CoreConfig(AppConfig):
    """An app with no models of its own: it is installed so that its registries are filled by the
    apps above it in their ``ready()`` and so that Django finds its templates and commands."""

    name = "core"
    verbose_name = "Core"
