from rostra.core.pagination import PageRequest
from rostra.timelines.queries import home


def test_world_builds_and_fans_out(world, run_tasks):
    from rostra.testing.world import make_post

    post = make_post(world.alice, "Hello from #Rostra")
    run_tasks()
    assert post.pk in [p.pk for p in home(world.bob, PageRequest()).items]
    assert post.pk not in [p.pk for p in home(world.eve, PageRequest()).items]
