# Types for mypy on the newest leg (scripts/test --newest): Home Assistant 2026.x replaces
# voluptuous with probatio at import (probatio.compat.install_as_voluptuous), so there
# `import voluptuous` is probatio, and its signatures expect probatio's schemas.
from probatio import *  # noqa: F403
