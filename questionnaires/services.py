"""Loading questionnaire versions from their definition files."""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from questionnaires.definition import Definition, DefinitionError
from questionnaires.models import QuestionnaireVersion

DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"


class FrozenVersionError(Exception):
    pass


@dataclass
class LoadResult:
    code: str
    outcome: str  # "created", "unchanged" or "updated" (drafts only)


def _checksum(doc):
    return hashlib.sha256(json.dumps(doc, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@transaction.atomic
def questionnaire_load(*, doc: dict, publish: bool = True) -> LoadResult:
    """Store a definition as a version. Loading the same definition again changes nothing; a
    different definition under the code of a published version is refused."""
    definition = Definition.from_doc(doc)
    checksum = _checksum(doc)
    version = QuestionnaireVersion.objects.select_for_update().filter(code=doc["code"]).first()
    if version and version.checksum == checksum:
        if publish and not version.is_frozen:
            version.status, version.published_at = QuestionnaireVersion.Status.PUBLISHED, timezone.now()
            version.save(update_fields=["status", "published_at"])
        return LoadResult(doc["code"], "unchanged")
    if version and version.is_frozen:
        raise FrozenVersionError(
            f"{doc['code']} is published and frozen, and its definition file has changed: "
            "give the changed questionnaire a new version code"
        )
    fields = {
        "family": doc.get("family") or doc["code"],
        "title_vi": doc["title"]["vi"],
        "title_en": doc["title"]["en"],
        "definition": doc,
        "checksum": checksum,
        "item_codes": [item["code"] for item in definition.items],
        "status": QuestionnaireVersion.Status.PUBLISHED if publish else QuestionnaireVersion.Status.DRAFT,
        "published_at": timezone.now() if publish else None,
    }
    _, created = QuestionnaireVersion.objects.update_or_create(code=doc["code"], defaults=fields)
    return LoadResult(doc["code"], "created" if created else "updated")


def questionnaire_load_file(*, path: Path, publish: bool = True) -> LoadResult:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DefinitionError([f"{path.name}: not valid JSON: {exc}"]) from exc
    return questionnaire_load(doc=doc, publish=publish)


def definition_files():
    return sorted(DEFINITIONS_DIR.glob("*.json"))
