"""Survey officers' pages for kiosks (the fieldwork issue adds rounds, quotas and paper forms)."""

import io

import qrcode
import qrcode.image.svg
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from fieldwork import services
from fieldwork.models import Kiosk
from units import access


class KioskForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)


def _get_kiosk_for_user(request, kiosk_id):
    kiosk = get_object_or_404(Kiosk.objects.select_related("unit"), pk=kiosk_id)
    access.check_unit_access(request.user, kiosk.unit, access.FIELDWORK)
    return kiosk


def _pairing_page(request, kiosk, code):
    link = request.build_absolute_uri(reverse("fieldwork:kiosk-pair-code", args=[code]))
    image = qrcode.make(link, image_factory=qrcode.image.svg.SvgPathImage, box_size=12)
    svg = io.BytesIO()
    image.save(svg)
    return render(request, "fieldwork/kiosk_pairing.html",
                  {"kiosk": kiosk, "code": code, "link": link, "qr_svg": svg.getvalue().decode()})


@login_required
@never_cache
def kiosk_list(request, code):
    unit = access.get_unit_for_user(request.user, code, access.FIELDWORK)
    form = KioskForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        kiosk, pairing_code = services.kiosk_create(unit=unit, name=form.cleaned_data["name"],
                                                    created_by=request.user)
        return _pairing_page(request, kiosk, pairing_code)
    kiosks = Kiosk.objects.filter(unit__path__startswith=unit.path).select_related("unit")
    return render(request, "fieldwork/kiosk_list.html", {"unit": unit, "kiosks": kiosks, "form": form})


@login_required
@never_cache
@require_POST
def kiosk_pairing(request, kiosk_id):
    kiosk = _get_kiosk_for_user(request, kiosk_id)
    if kiosk.is_revoked:
        messages.error(request, _("A revoked kiosk cannot be paired again: register a new one."))
        return redirect("fieldwork:kiosk-list", kiosk.unit.code)
    return _pairing_page(request, kiosk, services.kiosk_new_pairing_code(kiosk=kiosk))


@login_required
@require_POST
def kiosk_revoke(request, kiosk_id):
    kiosk = _get_kiosk_for_user(request, kiosk_id)
    services.kiosk_revoke(kiosk=kiosk)
    messages.success(request, _("Kiosk “%(name)s” is revoked: it can no longer send responses.") % {"name": kiosk.name})
    return redirect("fieldwork:kiosk-list", kiosk.unit.code)
