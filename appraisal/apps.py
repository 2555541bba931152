from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppraisalConfig(AppConfig):
    name = "appraisal"
    verbose_name = _("appraisal")

    def ready(self) -> None:
        from appraisal import demo, registration
        from organizations.packages import register_loader

        registration.register()
        register_loader("appraisal", demo.load, position=30, dumper=demo.dump)
