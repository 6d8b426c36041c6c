"""HTTP layer: routers, request/response models, the error envelope and auth dependencies."""
