"""The SNS channel against moto's SNS server on loopback: a topic read back through a subscribed SQS queue,
an SMS and a platform endpoint read back from moto's backend, and how SNS's errors map; throttling and 5xx
come from a loopback server answering in SNS's own error format."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import parse_qs

import boto3
import pytest
from moto.server import ThreadedMotoServer
from moto.sns.models import sns_backends
from pydantic import ValidationError

from services.notifier.channels.base import DeliveryFailed, Recipient
from services.notifier.channels.sns import SnsChannel, SnsSettings, target
from tests.notifier.receiver import Reply, closed_port_url
from tests.ports import free_port

ACCOUNT = "123456789012"
"""moto's account."""
REGION = "ap-northeast-2"
KEYS = {"access_key_id": "testing", "secret_access_key": "testing"}


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def aws(service: str, url: str):
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def channel(moto_url) -> SnsChannel:
    return SnsChannel(SnsSettings(region=REGION, endpoint_url=moto_url, timeout_s=5, **KEYS))


def test_a_topic_message_reaches_a_subscribed_queue_with_the_title_as_subject(
    channel, moto_url, notification, rendered, unique_id
):
    sns, sqs = aws("sns", moto_url), aws("sqs", moto_url)
    topic_arn = sns.create_topic(Name=f"alerts-{unique_id}")["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"pager-{unique_id}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "false"},
    )

    answer = channel.send(Recipient(1, topic_arn), notification, rendered, delivery_id="dlv-sns")

    assert answer["target"] == "topic"
    messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=2, MaxNumberOfMessages=10)["Messages"]
    (message,) = messages
    envelope = json.loads(message["Body"])
    assert envelope["Type"] == "Notification"
    assert envelope["TopicArn"] == topic_arn
    assert envelope["MessageId"] == answer["message_id"]
    assert envelope["Subject"] == rendered.title
    assert envelope["Message"] == rendered.body


def test_a_fifo_topic_gets_the_alert_as_group_and_the_delivery_as_deduplication_id(
    channel, moto_url, notification, rendered, unique_id
):
    sns = aws("sns", moto_url)
    topic_arn = sns.create_topic(Name=f"alerts-{unique_id}.fifo", Attributes={"FifoTopic": "true"})[
        "TopicArn"
    ]
    answer = channel.send(Recipient(1, topic_arn), notification, rendered, delivery_id="dlv-fifo")
    assert answer["message_id"]


def test_an_sms_goes_to_the_phone_number_with_title_and_body(channel, notification, rendered):
    answer = channel.send(Recipient(1, "+821012345678"), notification, rendered, delivery_id="d")
    assert answer["target"] == "phone"
    sent = sns_backends[ACCOUNT][REGION].sms_messages[answer["message_id"]]
    assert sent == ("+821012345678", f"{rendered.title}\n{rendered.body}")


def test_a_long_sms_is_cut_rather_than_refused_as_a_bad_number(channel, notification, rendered):
    long = replace(rendered, body="마스크 " * 1000)
    answer = channel.send(Recipient(1, "+821012345678"), notification, long, delivery_id="d")
    _, sent = sns_backends[ACCOUNT][REGION].sms_messages[answer["message_id"]]
    assert len(sent) == 600
    assert sent.startswith(rendered.title)


def test_platform_endpoints_deliver_and_a_disabled_one_is_permanent(
    channel, moto_url, notification, rendered, unique_id
):
    sns = aws("sns", moto_url)
    app = sns.create_platform_application(
        Name=f"app-{unique_id}", Platform="GCM", Attributes={"PlatformCredential": "server-key"}
    )["PlatformApplicationArn"]
    endpoint = sns.create_platform_endpoint(PlatformApplicationArn=app, Token=f"device-{unique_id}")[
        "EndpointArn"
    ]
    assert target(endpoint) == "endpoint"

    answer = channel.send(Recipient(1, endpoint), notification, rendered, delivery_id="d")
    assert answer["target"] == "endpoint"
    (stored,) = sns_backends[ACCOUNT][REGION].platform_endpoints[endpoint].messages.values()
    assert stored == f"{rendered.title}\n{rendered.body}"

    sns.set_endpoint_attributes(EndpointArn=endpoint, Attributes={"Enabled": "false"})
    with pytest.raises(DeliveryFailed) as disabled:
        channel.send(Recipient(1, endpoint), notification, rendered, delivery_id="d")
    assert disabled.value.permanent
    assert disabled.value.reason.startswith("EndpointDisabled")


def test_a_missing_topic_and_a_bad_number_are_permanent(channel, notification, rendered):
    with pytest.raises(DeliveryFailed) as missing:
        channel.send(
            Recipient(1, f"arn:aws:sns:{REGION}:{ACCOUNT}:no-such-topic"),
            notification,
            rendered,
            delivery_id="d",
        )
    assert missing.value.permanent
    assert missing.value.reason.startswith("NotFound")
    with pytest.raises(DeliveryFailed) as bad_number:
        channel.send(Recipient(1, "+0123"), notification, rendered, delivery_id="d")
    assert bad_number.value.permanent
    assert bad_number.value.reason.startswith("InvalidParameter")


def test_an_address_of_no_known_shape_is_permanent(channel, notification, rendered):
    for address in ("guard@site.example", "arn:aws:sqs:ap-northeast-2:123456789012:q", "010-1234-5678"):
        with pytest.raises(DeliveryFailed) as failed:
            channel.send(Recipient(1, address), notification, rendered, delivery_id="d")
        assert failed.value.permanent


def sns_error(code: str, kind: str = "Sender") -> bytes:
    return (
        '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
        f"<Error><Type>{kind}</Type><Code>{code}</Code><Message>{code} here</Message></Error>"
        "<RequestId>4e7a0f6c-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
    ).encode()


@pytest.mark.parametrize(
    ("status", "code", "headers", "retry_after"),
    [
        (400, "Throttling", {"Retry-After": "3"}, 3.0),
        (429, "Throttling", {}, None),
        (500, "InternalError", {}, None),
        (503, "ServiceUnavailable", {"Retry-After": "11"}, 11.0),
        (403, "AuthorizationError", {}, None),
        (400, "InvalidParameter", {}, None),
    ],
)
def test_throttling_server_errors_and_our_own_mistakes_are_retried(
    receiver, notification, rendered, status, code, headers, retry_after
):
    receiver.answer = lambda _request: Reply(
        status,
        sns_error(code, "Receiver" if status >= 500 else "Sender"),
        {"Content-Type": "text/xml", **headers},
    )
    channel = SnsChannel(SnsSettings(region=REGION, endpoint_url=receiver.url, timeout_s=2, **KEYS))
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts"
    with pytest.raises(DeliveryFailed) as failed:
        channel.send(Recipient(1, topic), notification, rendered, delivery_id="d")
    assert not failed.value.permanent
    assert failed.value.reason.startswith(code)
    assert failed.value.retry_after_s == retry_after
    assert len(receiver.requests) == 1, "botocore's own retries are off: the delivery job retries"
    assert b"Action=Publish" in receiver.requests[0].body


def test_no_server_and_a_silent_one_are_retryable(receiver, notification, rendered):
    topic = Recipient(1, f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts")
    nobody = SnsChannel(SnsSettings(region=REGION, endpoint_url=closed_port_url(), timeout_s=1, **KEYS))
    with pytest.raises(DeliveryFailed) as refused:
        nobody.send(topic, notification, rendered, delivery_id="d")
    assert not refused.value.permanent

    def slow(_request):
        time.sleep(1.5)
        return Reply(200)

    receiver.answer = slow
    silent = SnsChannel(SnsSettings(region=REGION, endpoint_url=receiver.url, timeout_s=0.3, **KEYS))
    started = time.monotonic()
    with pytest.raises(DeliveryFailed) as timed_out:
        silent.send(topic, notification, rendered, delivery_id="d")
    assert not timed_out.value.permanent
    assert time.monotonic() - started < 1.5


def test_a_long_title_is_cut_to_an_sns_subject(receiver, notification, rendered):
    receiver.answer = lambda _request: Reply(
        200,
        b'<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult>'
        b"<MessageId>m-1</MessageId></PublishResult></PublishResponse>",
        {"Content-Type": "text/xml"},
    )
    channel = SnsChannel(SnsSettings(region=REGION, endpoint_url=receiver.url, timeout_s=2, **KEYS))
    long = replace(rendered, title="Person unmasked\nfor a long time " + "x" * 200)
    answer = channel.send(
        Recipient(1, f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts"), notification, long, delivery_id="d"
    )
    assert answer == {"message_id": "m-1", "target": "topic"}
    subject = parse_qs(receiver.requests[0].body.decode())["Subject"][0]
    assert len(subject) == 99
    assert subject.startswith("Person unmasked for a long time x")


def test_settings_need_both_keys_or_neither():
    with pytest.raises(ValidationError):
        SnsSettings(region=REGION, access_key_id="only-half")
    SnsSettings(region=REGION)
