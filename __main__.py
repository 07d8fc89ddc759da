"""Stack program for `pulumi up --stack <name>`: one processor, configured in stacks/."""

import sys

from s3ep_pulumi.component.stack import program
from s3ep_pulumi.errors import ConfigError

try:
    program()
except ConfigError as error:
    # One clear message for `pulumi up`, not a traceback.
    print(f"error: {error}", file=sys.stderr)
    sys.exit(1)
