"""H264 is accepted and passed through: an aiortc publisher sends H264 (libx264 via PyAV) over
WHIP, an aiortc subscriber decodes it over WHEP, and a video mute/unmute resumes on an H264
keyframe (IDR), which the SFU must find inside FU-A/STAP-A packets."""

from __future__ import annotations

import asyncio

from chorus_api import ChorusAPI, assert_created
from conftest import ChorusServer
from peers import DecodeFailures, Publisher, Subscriber, close_all, in_thread, run, wait_connected


def test_h264_publish_subscribe_mute_unmute(chorus: ChorusServer, api: ChorusAPI, room: str) -> None:
    publisher_token = chorus.token("hana", room, publish=True)
    viewer_token = chorus.token("ivan", room, subscribe=True)
    admin_token = chorus.token("mod", room, admin=True)

    async def scenario() -> None:
        publisher = subscriber = None
        try:
            with DecodeFailures() as failures:
                publisher = await Publisher.create(audio=None, video="video/H264")
                whip = assert_created(await in_thread(api.whip, room, publisher.offer, publisher_token), f"/whip/{room}")
                assert "H264/90000" in whip.answer, whip.answer
                await publisher.accept(whip.answer)
                await wait_connected(publisher.pc, 10, "publisher")
                await asyncio.sleep(1.0)

                subscriber = await Subscriber.create(("video",))
                whep = assert_created(
                    await in_thread(api.whep, room, whip.last_segment, subscriber.offer, viewer_token),
                    f"/whep/{room}/{whip.last_segment}")
                assert "H264/90000" in whep.answer, whep.answer
                await subscriber.accept(whep.answer)
                await wait_connected(subscriber.pc, 10, "subscriber")
                video = await subscriber.counter("video")
                assert await video.wait_for_count(10, 10), f"decoded {video.count} H264 frames in 10 s"

                response = await in_thread(api.mute, room, whip.last_segment, "video", True, admin_token)
                assert response.status_code == 200, response.text
                await asyncio.sleep(1.0)
                quiet = video.count
                await asyncio.sleep(1.5)
                assert video.count == quiet, f"{video.count - quiet} H264 frames decoded while muted"

                failures.messages.clear()
                response = await in_thread(api.mute, room, whip.last_segment, "video", False, admin_token)
                assert response.status_code == 200, response.text
                assert await video.wait_for_count(quiet + 5, 5), "H264 video did not resume after unmute"
                assert not failures.messages, f"decode failures after unmute: {failures.messages[:3]}"
        finally:
            if subscriber is not None:
                await subscriber.stop_counting()
            await close_all(subscriber.pc if subscriber else None, publisher.pc if publisher else None)

    run(scenario(), timeout=90)
