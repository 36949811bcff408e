from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from units import access
from units.selectors import unit_detail_context


@login_required
def unit_detail(request, code):
    unit = access.get_unit_for_user(request.user, code, access.OVERVIEW)
    context = unit_detail_context(unit)
    context["can_run_fieldwork"] = access.user_can(request.user, unit, access.FIELDWORK)
    return render(request, "units/unit_detail.html", context)
