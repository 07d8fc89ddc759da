"""The offline tools behind the `s3ep` command: capture (mocks that record), synth, check, the
emulator and simulate, cost, reports, docgen and the CLI.

May import everything in the package. Their extra dependencies (moto, rich, parliament,
pulumi-policy) are optional: each command that needs a missing extra says which one to install.
"""
