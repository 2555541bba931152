from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    HR_ADMIN = "hr_admin", _("HR admin")
    DEPARTMENT_HEAD = "department_head", _("department head")
    FINANCE = "finance", _("finance")
    EMPLOYEE = "employee", _("employee")
    GROUP_MEMBER = "group_member", _("review group member")
