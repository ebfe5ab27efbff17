"""The node agent that runs on every worker machine (`manage.py nodeagent`)."""
