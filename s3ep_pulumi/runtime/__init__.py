"""Code that runs inside the user's Lambda function: the shim, packaged next to the user's handler
(or shipped as a layer for an existing function).

Standard library only: the Lambda Python runtime provides nothing else we may rely on, and the
shim is copied into the function's package as a single file.
"""
