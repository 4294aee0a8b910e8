"""The gateway's HTTP face: the FastAPI app, its middleware and its routers."""
