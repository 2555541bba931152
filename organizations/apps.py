from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrganizationsConfig(AppConfig):
    name = "organizations"
    verbose_name = _("organizations")

    def ready(self) -> None:
        from organizations import (
            dashboard,
            navigation,
            permissions,
            schema,  # noqa: F401  (registers the OpenAPI auth extension)
        )

        permissions.register_resources(permissions.RESOURCES)
        navigation.register(*navigation.OWN)
        dashboard.register_card(*dashboard.OWN_CARDS)
        from organizations.notifications import events as notification_events

        notification_events.register()
        from organizations import package_structure
        from organizations.packages import register_loader

        # Departments, people and accounts first: everything else in a package refers to them.
        register_loader("organizations", package_structure.load, position=10, dumper=package_structure.dump)
