"""Code that runs inside the user's Lambda function, packaged next to the user's handler."""
