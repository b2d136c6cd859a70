"""The backend contract suite, as pytest classes.

A backend joins by subclassing :class:`BackendContracts` and overriding one fixture::

    from metricscore.testing.conformance import BackendContracts

    class TestMyBackend(BackendContracts):
        @pytest.fixture
        def backend(self, tmp_path):
            backend = MyBackend.from_url(f"my://{tmp_path}/db")
            yield backend
            backend.close()

Optional capabilities (today one: :data:`COUNTING`, a repository that is a
:class:`~metricscore.repository.CountingRepository`) come from the ``capabilities`` fixture: detected
by default, so a backend without one sees its contract skipped with the reason; override the fixture
to declare what your backend promises, and a capability that goes missing fails instead.

Every class here is named ``*Contract`` so pytest collects it only through such a subclass. The
memory backend is the reference: a backend that answers differently has a bug.
"""

from ...registry import require_module

for _name in ("pytest", "hypothesis"):  # first: without them, say what to install
    require_module(_name, "testing", "metricscore.testing.conformance")

from .crud import CopyContract, CrudContract, ScopeContract, UniquenessContract  # noqa: E402
from .events import EventsContract  # noqa: E402
from .fixtures import COUNTING, BackendFixtures  # noqa: E402
from .inputs import ReadInputContract  # noqa: E402
from .listing import KeysetContract, ListingContract  # noqa: E402
from .metrics import GroupUsageMetricContract, SequenceUsageMetricContract, StatsigMetricContract  # noqa: E402
from .resources import ResourceContract  # noqa: E402
from .stateful import StatefulContract, compare_with_memory  # noqa: E402
from .transactions import TransactionContract  # noqa: E402

__all__ = [
    "COUNTING",
    "BackendContracts",
    "BackendFixtures",
    "CopyContract",
    "CrudContract",
    "EventsContract",
    "GroupUsageMetricContract",
    "KeysetContract",
    "ListingContract",
    "ReadInputContract",
    "ResourceContract",
    "ScopeContract",
    "SequenceUsageMetricContract",
    "StatefulContract",
    "StatsigMetricContract",
    "TransactionContract",
    "UniquenessContract",
    "compare_with_memory",
]


class BackendContracts(
    CrudContract,
    CopyContract,
    ScopeContract,
    UniquenessContract,
    ListingContract,
    KeysetContract,
    TransactionContract,
    StatefulContract,
    GroupUsageMetricContract,
    SequenceUsageMetricContract,
    StatsigMetricContract,
    EventsContract,
    ReadInputContract,
):
    """Every contract at once: what a backend must pass."""
