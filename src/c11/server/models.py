"""Imports every service's models so `Base.metadata` is complete (for migrations and checks).

A new service adds one import line here.
"""

from __future__ import annotations

from c11.server.accounts import models as accounts_models
from c11.server.accounts import opaque_models as accounts_opaque_models
from c11.server.db import Base
from c11.server.docrequests import models as docrequests_models
from c11.server.events import models as events_models
from c11.server.groups import models as groups_models
from c11.server.keyserver import models as keyserver_models
from c11.server.logsrv import models as log_models
from c11.server.orgs import models as orgs_models
from c11.server.outbox import models as outbox_models
from c11.server.policies import models as policies_models
from c11.server.registry import models as registry_models
from c11.server.scim import models as scim_models
from c11.server.shards import models as shards_models
from c11.server.sharing import models as sharing_models
from c11.server.tokens import models as tokens_models
from c11.server.uploads import models as uploads_models

__all__ = [
    "Base",
    "docrequests_models",
    "accounts_opaque_models",
    "events_models",
    "groups_models",
    "orgs_models",
    "scim_models",
    "shards_models",
    "keyserver_models",
    "accounts_models",
    "log_models",
    "outbox_models",
    "policies_models",
    "registry_models",
    "tokens_models",
    "sharing_models",
    "uploads_models",
]
