from tests.agent.records.conftest import store  # noqa: F401 - the records tests' store fixture
