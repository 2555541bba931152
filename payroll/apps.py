from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PayrollConfig(AppConfig):
    name = "payroll"
    verbose_name = _("payroll")

    def ready(self) -> None:
        # The chain "close → compute pay" is assembled here, on the payroll side: appraisal only
        # announces that results changed (ARCHITECTURE.md: appraisal knows nothing of pay).
        from appraisal.signals import results_changed
        from organizations.packages import register_loader
        from organizations.standing import reserve_names
        from payroll import demo, registration
        from payroll.standard import reserved_name
        from payroll.tasks import on_results_changed

        results_changed.connect(on_results_changed, dispatch_uid="payroll.compute_on_results_changed")
        registration.register()
        register_loader("payroll", demo.load, position=40, dumper=demo.dump)
        # A standing parameter may not take a name the pay run already supplies (payroll.standard).
        reserve_names(reserved_name)
