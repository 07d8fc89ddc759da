"""Stack program for `pulumi up --stack <name>`: one processor, configured in stacks/."""

import sys

from s3ep_pulumi.errors import ConfigError
from s3ep_pulumi.stack import program

try:
    program()
except ConfigError as error:
    # One clear message for `pulumi up`, not a traceback.
    print(f"error: {error}", file=sys.stderr)
    sys.exit(1)
