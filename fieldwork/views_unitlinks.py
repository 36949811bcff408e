"""The page a desk poster's QR code opens (a unit's link for anyone, fieldwork.unitlinks): the at-home
survey's page and calls (fieldwork.views_athome), for the link's round and unit, with no invitation.

Guards (fieldwork.unitlinks says why none is a security boundary): a rate limit per client address
(UNIT_LINK_RATE_LIMIT_PER_MINUTE) on Start and the response; once a response is stored, a cookie
on the link's path (``sipas_answered``) and a localStorage key make this browser's next visit say it
has answered. The page's script sets both (its API calls carry no cookies, so the cookie this view
also sets on a stored response is for other clients); a request that carries the cookie stores no
second response (a retry of the same one is answered as stored).
The calls carry no CSRF token: the signed token in the path names the link, and a forged request
could do no more than anyone holding the poster.
"""

import json
import uuid

from django.conf import settings
from django.http import JsonResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_POST, require_safe

from fieldwork import unitlinks
from fieldwork.athome import phone_questionnaire
from fieldwork.models import Response
from fieldwork.views_athome import json_refused, limited, phone_page, refused_page, submit_json
from surveyapp.proxy import client_address

ANSWERED_COOKIE = "sipas_answered"
ANSWERED_DAYS = 366


def storage_key(token) -> str:
    return "sipas.unitlink." + token


def _path(token):
    return reverse("fieldwork:unit-link", args=[token])


def _answered_here(request) -> bool:
    return request.COOKIES.get(ANSWERED_COOKIE) == "1"


@gzip_page
@never_cache
@require_safe
def unit_link_page(request, token):
    """The questionnaire for the link's round as at its unit; a clear page in Vietnamese and English
    when it cannot be answered (unknown, closed, switched off) or this browser has answered."""
    found = unitlinks.unit_link_find(token)
    if found.round is None:
        return refused_page(request, found.reason, storage_key(token))
    if _answered_here(request):
        return refused_page(request, "answered", storage_key(token))
    return phone_page(request, phone_questionnaire(found.round, found.unit), api_base=_path(token),
                      key=storage_key(token), once_key=storage_key(token) + ".answered")


def _limited(request):
    return limited(client_address(request), kind="unitlink", limit=settings.UNIT_LINK_RATE_LIMIT_PER_MINUTE)


@csrf_exempt  # see the module's docstring
@never_cache
@require_POST
def unit_link_start(request, token):
    """Start was pressed: says whether the link may still be answered (nothing is counted)."""
    refused = _limited(request)
    if refused:
        return refused
    found = unitlinks.unit_link_find(token)
    if found.round is None:
        return json_refused(found.reason)
    return JsonResponse({"status": "open"})


def _stored_retry(request):
    """This browser has answered: the answer to a retry of its stored response, else the refusal."""
    try:
        response_id = uuid.UUID(str(json.loads(request.body.decode("utf-8")).get("id")))
    except (AttributeError, UnicodeDecodeError, ValueError, RecursionError):
        return json_refused("answered")
    if Response.objects.filter(pk=response_id, channel=Response.Channel.POSTER).exists():
        return JsonResponse({"id": str(response_id), "status": "stored"}, status=200)
    return json_refused("answered")


@csrf_exempt  # see the module's docstring
@never_cache
@require_POST
def unit_link_responses(request, token):
    """The response, as the at-home link takes it: 201 stored (and this browser marked as having
    answered), 200 the same again, 400 naming what is wrong, 409 this browser has answered, 404/410
    a link that cannot be answered (nothing stored)."""
    refused = _limited(request)
    if refused:
        return refused
    if _answered_here(request):
        return _stored_retry(request)
    answer = submit_json(request, lambda payload: unitlinks.unit_link_submit(token=token, payload=payload))
    if answer.status_code in (200, 201):
        answer.set_cookie(ANSWERED_COOKIE, "1", max_age=ANSWERED_DAYS * 86400, path=_path(token),
                          secure=request.is_secure(), samesite="Lax")
    return answer
