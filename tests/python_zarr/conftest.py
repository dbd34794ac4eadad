import pytest

from stores import STACKS, new_stack


@pytest.fixture(scope="module", params=sorted(STACKS))
def stack(request, tmp_path_factory):
    """A stack of STACKS (u8 and u16, odd sizes) with its TIFF pyramid and reference levels."""
    return new_stack(request.param, tmp_path_factory.mktemp(request.param))
