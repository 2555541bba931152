from rest_framework import viewsets

from organizations.models import Department


class _Base(viewsets.ReadOnlyModelViewSet):
    permission_resource = "department"

    def get_queryset(self):
        return Department.objects.all()


OrganizationViewSet = DepartmentViewSet = TeamViewSet = PersonViewSet = MembershipViewSet = _Base
