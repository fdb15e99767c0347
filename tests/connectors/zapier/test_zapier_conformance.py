from connectors.base.testing import ConnectorConformance


class TestZapierConformance(ConnectorConformance):
    connector_key = "zapier"
    inputs = {
        "create_task": {"title": "Fix the build", "prompt": "Make CI green"},
        "send_message": {"message": "Summarise the repo", "conversation_id": "1701.0002"},
        "find_task": {"status": "pending"},
    }

    def valid_input(self, user, operation):
        if operation.key == "cancel_task":
            return {"task_id": user.create_task()["task_id"]}
        return super().valid_input(user, operation)
