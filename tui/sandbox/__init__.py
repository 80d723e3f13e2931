"""An in-process simulator of the four order systems Stopline talks to.

Pattern Hub, OrderMesh, Shoplazza and Rx-Universe are served by one Starlette app on a loopback
port, with their paths, auth, status codes, bodies and quirks, deterministic demo data and faults
on demand. See README.md beside this file.

```python
from tui.sandbox import SandboxServer

with SandboxServer() as server:
    print(server.settings_env())
```
"""

from __future__ import annotations

from .config import DEMO_CREDENTIALS, FaultRule, SandboxConfig, parse_fault_spec
from .server import SandboxError, SandboxServer

__all__ = [
    "DEMO_CREDENTIALS",
    "FaultRule",
    "SandboxConfig",
    "SandboxError",
    "SandboxServer",
    "parse_fault_spec",
]
