from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "rostra.pipeline"
    label = "pipeline"

    def ready(self) -> None:
        from rostra.core import events
        from rostra.federation import delivery
        from rostra.pipeline.priority import enqueue_event
        from rostra.pipeline.tasks import deliver_now_task

        events.set_enqueuer(enqueue_event)
        delivery.set_sender(deliver_now_task)
