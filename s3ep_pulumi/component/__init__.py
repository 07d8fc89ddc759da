"""The only place resources are declared: `S3EventProcessor` and its stages, the function's
package, and the stack program that reads a stack's YAML.

May import pulumi, pulumi-aws and every layer below it (model, builders, runtime); nothing else
imports it but the local tools.
"""
