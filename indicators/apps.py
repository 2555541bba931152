from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IndicatorsConfig(AppConfig):
    name = "indicators"
    verbose_name = _("indicators")

    def ready(self) -> None:
        from indicators import demo, registration
        from organizations.packages import register_loader

        registration.register()
        register_loader("indicators", demo.load, position=20, dumper=demo.dump)
