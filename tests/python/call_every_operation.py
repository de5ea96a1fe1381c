"""Calls every operation of the admin API's spec through a Python client generated from it.

The client comes from openapi-python-client, a generator the project does not use for
itself, run on the committed spec (query-api/openapi.json) by tests/spec_conformance.rs,
which also starts the server this script calls and fills it with `salesbot simulate`.
Each operation has one function below, marked with its operationId; the script fails when
the spec has an operation without one (so a new route cannot slip by), when a call fails,
or when a parsed answer is not what the simulated shop holds.

    python call_every_operation.py --client DIR --spec openapi.json --base-url URL \
        --admin-key KEY --chat-key KEY --users N

A new operation: add a function with `@operation("itsOperationId")`; a new way to
authenticate: add it to `Clients` (the one place that builds authenticated clients).
"""

import argparse
import datetime as dt
import importlib
import json
import sys

OPERATIONS = {}


def operation(operation_id):
    """Marks the function that calls `operation_id`."""

    def mark(function):
        assert operation_id not in OPERATIONS, f"two functions call {operation_id}"
        OPERATIONS[operation_id] = function
        return function

    return mark


def check(condition, message):
    if not condition:
        raise AssertionError(message)


class Clients:
    """The generated package and clients for each kind of caller."""

    def __init__(self, package, base_url, admin_key, chat_key):
        self.package = package
        self.base_url = base_url
        self._client = importlib.import_module(f"{package}.client")
        # The spec's AdminKey scheme: the key as it is, in `X-API-Key`.
        self.admin = self._client.AuthenticatedClient(
            base_url=base_url, token=admin_key, prefix="", auth_header_name="X-API-Key"
        )
        # The ChatKey scheme: the shop's backend, in `X-Chat-Key`.
        self.backend = self._client.AuthenticatedClient(
            base_url=base_url, token=chat_key, prefix="", auth_header_name="X-Chat-Key"
        )
        self.anonymous = self._client.Client(base_url=base_url)

    def session(self, token):
        """The Session scheme: `Authorization: Bearer <token>`."""
        return self._client.AuthenticatedClient(base_url=self.base_url, token=token)

    def api(self, name):
        return importlib.import_module(f"{self.package}.api.{name}")

    def model(self, name):
        return getattr(importlib.import_module(f"{self.package}.models"), name)


class Run:
    """What the calls learn from each other (a user id, the log's head)."""

    def __init__(self, clients, users):
        self.c = clients
        self.users = users
        self.head = None
        self.someone = None

    def ok(self, module, **kwargs):
        """The parsed 200 answer of `module` (an operation of the generated client)."""
        response = module.sync_detailed(**kwargs)
        check(
            response.status_code == 200,
            f"{module.__name__}: {response.status_code} {response.content[:300]!r}",
        )
        check(response.parsed is not None, f"{module.__name__}: nothing parsed")
        return response.parsed


def unset(value):
    return type(value).__name__ == "Unset"


@operation("getHealth")
def get_health(run):
    health = run.ok(run.c.api("health.get_health"), client=run.c.anonymous)
    check(health.status == "ok", f"health: {health.status}")
    check(health.database.ok, "the database is up")
    check(unset(health.nats), "embedded mode: no NATS, left out")
    check(health.projections and all(not p.stalled for p in health.projections), "projections")
    run.head = health.head
    check(run.head > 0, "the simulated log has events")


@operation("listParkedEvents")
def list_parked_events(run):
    parked = run.ok(run.c.api("health.list_parked_events"), client=run.c.admin)
    check(parked.total == 0 and len(parked.events) == 0, f"nothing parked: {parked.total}")


@operation("getDashboard")
def get_dashboard(run):
    days = run.c.model("GetDashboardDays")
    dash = run.ok(run.c.api("analytics.get_dashboard"), client=run.c.admin, days=days.VALUE_30)
    check(dash.kpis.users.value == run.users, f"users: {dash.kpis.users.value}")
    check(len(dash.daily) == 30 and dash.period.days == 30, "thirty days")
    check([s.stage for s in dash.funnel][0] == "greeting", "the funnel starts with greeting")
    check(unset(dash.funnel[0].drop_off_pct), "greeting has no drop-off")
    users = [s.users for s in dash.funnel]
    check(users == sorted(users, reverse=True), f"the funnel never widens: {users}")
    check(dash.lag.head >= run.head, "the lag's head")


@operation("getConversion")
def get_conversion(run):
    today = dt.datetime.now(dt.timezone.utc)
    conversion = run.ok(
        run.c.api("analytics.get_conversion"),
        client=run.c.admin,
        from_=today.date() - dt.timedelta(days=6),
        to=today,
    )
    check(conversion.period.days == 7, f"a week: {conversion.period.days}")
    check(conversion.previous_period.days == 7, "the week before")
    c = conversion.current
    check(0 <= c.ordered_users <= c.active_users, "ordered users are active users")
    check(0.0 <= c.conversion_rate <= 1.0, f"rate {c.conversion_rate}")


@operation("getFunnel")
def get_funnel(run):
    days = run.c.model("GetFunnelDays")
    funnel = run.ok(
        run.c.api("analytics.get_funnel"), client=run.c.admin, days=days.VALUE_90, window_days=2
    )
    check(funnel.window_days == 2, "the window is echoed")
    check(len(funnel.stages) == 5, "five stages")
    check(funnel.stages[0].users > 0, "active users in 90 days")
    plain = run.ok(run.c.api("analytics.get_funnel"), client=run.c.admin)
    check(unset(plain.window_days) and unset(plain.stages[1].open_), "no window, no open")


@operation("getProducts")
def get_products(run):
    sort, order = run.c.model("GetProductsSort"), run.c.model("GetProductsOrder")
    page = run.ok(
        run.c.api("analytics.get_products"),
        client=run.c.admin,
        sort=sort.PRODUCT_ID,
        order=order.ASC,
        page=1,
        page_size=5,
    )
    ids = [p.product_id for p in page.items]
    check(len(ids) == min(5, page.total) and ids == sorted(ids), f"sorted page: {ids}")
    viewed = run.ok(run.c.api("analytics.get_products"), client=run.c.admin, page_size=500)
    check(sum(p.views for p in viewed.items) > 0, "simulated shoppers viewed products")


@operation("getCarts")
def get_carts(run):
    days = run.c.model("GetCartsDays")
    report = run.ok(run.c.api("analytics.get_carts"), client=run.c.admin, days=days.VALUE_30)
    check(report.period.days == 30, "thirty days")
    c = report.carts
    parts = c.ordered + c.abandoned + c.emptied + c.open_
    check(parts == c.sessions_with_cart, f"every session with a cart has one outcome: {c}")
    check(0.0 <= c.abandonment_rate <= 1.0, f"rate {c.abandonment_rate}")


@operation("getShopQuestions")
def get_shop_questions(run):
    today = dt.datetime.now(dt.timezone.utc).date()
    report = run.ok(
        run.c.api("analytics.get_shop_questions"),
        client=run.c.admin,
        from_=today - dt.timedelta(days=29),
        to=today,
    )
    q = report.shop_questions
    check(report.period.days == 30, f"thirty days: {report.period.days}")
    check(q.questions == sum(t.questions for t in q.topics), "topics add up")
    check(q.ordering_users > 0, "simulated shoppers ordered")
    check(0 <= q.asked_before_ordering <= q.ordering_users, "a share of the ordering shoppers")


@operation("listUsers")
def list_users(run):
    sort, order = run.c.model("ListUsersSort"), run.c.model("ListUsersOrder")
    users = run.ok(
        run.c.api("users.list_users"),
        client=run.c.admin,
        sort=sort.MESSAGES,
        order=order.DESC,
        page_size=10,
    )
    check(users.total == run.users, f"total {users.total}")
    messages = [u.messages for u in users.items]
    check(messages == sorted(messages, reverse=True), f"most messages first: {messages}")
    run.someone = users.items[0].user_id


@operation("getUser")
def get_user(run):
    module = run.c.api("users.get_user")
    profile = run.ok(module, id=run.someone, client=run.c.admin)
    check(profile.user.user_id == run.someone, "the user asked for")
    check(profile.conversation.total > 0, "a conversation")
    positions = [m.position for m in profile.conversation.messages]
    check(positions == sorted(positions, reverse=True), "newest first")
    check(0 <= profile.engagement.score <= 100, "a score")
    missing = module.sync_detailed(id="web:nobody", client=run.c.admin)
    check(missing.status_code == 404, f"unknown user: {missing.status_code}")
    check("no user" in missing.parsed.message, "the error body is parsed")


@operation("listEvents")
def list_events(run):
    page = run.ok(run.c.api("events.list_events"), client=run.c.admin, after=0, limit=25)
    check(len(page.events) == 25 and page.next_after == 25, f"next_after {page.next_after}")
    check(page.head >= run.head, "the head")


@operation("exportEvents")
def export_events(run):
    # The generator has no parser for NDJSON: the body is read as the spec says it is.
    response = run.c.api("events.export_events").sync_detailed(
        client=run.c.admin, after=run.head - 10
    )
    check(response.status_code == 200, f"export: {response.status_code}")
    check(response.headers["content-type"].startswith("application/x-ndjson"), "NDJSON")
    positions = [json.loads(line)["global_position"] for line in response.content.splitlines()]
    check(positions == list(range(run.head - 9, run.head + 1)), f"the last ten: {positions}")


@operation("liveUpdates")
def live_updates(run):
    # The stream never ends, so the generated function (which reads the whole body) cannot
    # be awaited; its request is sent through the same client, streamed, and the first
    # event parsed with the generated models.
    module = run.c.api("health.live_updates")
    frame = run.c.model("LiveUpdatesResponse200Type0")
    lag = run.c.model("LagSummary")
    with run.c.admin.get_httpx_client().stream(**module._get_kwargs()) as response:
        check(response.status_code == 200, f"live: {response.status_code}")
        fields = {}
        for line in response.iter_lines():
            if not line:
                if "data" in fields:
                    break
                continue
            name, _, value = line.partition(":")
            if name in ("event", "data"):
                fields[name] = value.strip()
    first = frame.from_dict(fields)
    check(str(first.event) == "progress", f"the first event: {first.event}")
    summary = lag.from_dict(json.loads(first.data))
    check(summary.head >= run.head and summary.applied <= summary.head, "progress")


@operation("eraseUser")
def erase_user(run):
    module = run.c.api("users.erase_user")
    erased = run.ok(module, id=run.someone, client=run.c.admin)
    check(erased.user_id == run.someone and erased.key_destroyed, "erased")
    gone = run.c.api("users.get_user").sync_detailed(id=run.someone, client=run.c.admin)
    check(gone.status_code == 404, f"an erased user is gone: {gone.status_code}")
    refused = run.c.api("analytics.get_dashboard").sync_detailed(client=run.c.anonymous)
    check(refused.status_code == 401, f"no key: {refused.status_code}")


@operation("postMessage")
def post_message(run):
    module = run.c.api("chat.post_message")
    request = run.c.model("MessageRequest")
    named = run.ok(
        module,
        client=run.c.backend,
        body=request(text="what phones do you have?", user_id="py-ana", username="Ana"),
    )
    check(named.user_id == "py-ana" and "Nova X1" in named.reply, f"named: {named.reply!r}")
    check(len(named.buttons) > 0 and unset(named.session), "buttons, no session")
    # Anonymous: a new session, then the same user through it.
    first = run.ok(module, client=run.c.anonymous, body=request(text="tell me about the nova x1"))
    check(first.user_id.startswith("_anon-") and not unset(first.session), "a new session")
    again = run.ok(module, client=run.c.session(first.session), body=request(text="how much is it?"))
    check(again.user_id == first.user_id and "$799.00" in again.reply, f"same: {again.reply!r}")
    # Naming a user without the chat key is refused, with the error schema parsed.
    refused = module.sync_detailed(
        client=run.c.anonymous, body=request(text="yes", user_id="py-ana")
    )
    check(refused.status_code == 403, f"user_id without the key: {refused.status_code}")
    check("X-Chat-Key" in refused.parsed.message, f"message: {refused.parsed!r}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client", required=True, help="folder holding the generated package")
    parser.add_argument("--package", default="salesbot_admin_api_client")
    parser.add_argument("--spec", required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--admin-key", required=True)
    parser.add_argument("--chat-key", required=True, help="the server's CHAT_API_KEY")
    parser.add_argument("--users", type=int, required=True, help="users simulate created")
    args = parser.parse_args()

    with open(args.spec, encoding="utf-8") as f:
        spec = json.load(f)
    declared = {
        op["operationId"]
        for item in spec["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }
    missing = sorted(declared - OPERATIONS.keys())
    unknown = sorted(OPERATIONS.keys() - declared)
    if missing or unknown:
        print(f"FAILED: operations the spec has and this script does not call: {missing}; "
              f"functions for operations the spec does not have: {unknown}")
        return 1

    sys.path.insert(0, args.client)
    run = Run(Clients(args.package, args.base_url, args.admin_key, args.chat_key), args.users)
    failed = 0
    for operation_id, function in OPERATIONS.items():
        try:
            function(run)
            print(f"ok      {operation_id}")
        except Exception as error:  # every failure is reported, then the run fails
            failed += 1
            print(f"FAILED  {operation_id}: {type(error).__name__}: {error}")
    print(f"called {len(OPERATIONS)} operations through the generated client: {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
