// tests/PubSubTests.cs: publish and subscribe over RESP: messages pushed to subscribers of a channel or a pattern,
// RESP2's subscribed mode and RESP3's pushes, StackExchange.Redis and redis-py as subscribers, and a subscriber
// that never reads closed at its bound while the publisher and the other subscribers go on.

using KV;
using StackExchange.Redis;
using Xunit;

public class PubSubTests
{
    [Fact]
    public async Task A_message_reaches_the_subscribers_of_its_channel_and_of_matching_patterns()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var channel = await server.ConnectRespAsync();
        await using var pattern = await server.ConnectRespAsync();
        await using var publisher = await server.ConnectRespAsync();
        Assert.Equal("*3[$subscribe,$news,:1]", await channel.AskAsync("SUBSCRIBE", "news", "sport"));
        Assert.Equal("*3[$subscribe,$sport,:2]", await channel.ReadAsync());
        Assert.Equal("*3[$psubscribe,$n*,:1]", await pattern.AskAsync("PSUBSCRIBE", "n*"));

        Assert.Equal(":2", await publisher.AskAsync("PUBLISH", "news", "hello world"));
        Assert.Equal(":1", await publisher.AskAsync("PUBLISH", "sport", "goal"));
        Assert.Equal(":0", await publisher.AskAsync("PUBLISH", "weather", "rain"));
        Assert.Equal("*3[$message,$news,$hello world]", await channel.ReadAsync());
        Assert.Equal("*3[$message,$sport,$goal]", await channel.ReadAsync());
        Assert.Equal("*4[$pmessage,$n*,$news,$hello world]", await pattern.ReadAsync());

        Assert.Equal("*2[$news,$sport]", string.Concat((await publisher.AskAsync("PUBSUB",
            "CHANNELS")).Replace("$sport,$news", "$news,$sport")));
        Assert.Equal("*4[$news,:1,$x,:0]", await publisher.AskAsync("PUBSUB", "NUMSUB", "news", "x"));
        Assert.Equal(":1", await publisher.AskAsync("PUBSUB", "NUMPAT"));
        Assert.Equal(":2", await publisher.AskAsync("PUBLISH", "news", "two\nlines"));
        Assert.Equal("*3[$message,$news,$two\nlines]", await channel.ReadAsync());
        Assert.Equal("-ERR " + Errors.KeyEmpty, await publisher.AskAsync("SUBSCRIBE", ""));
    }

    [Fact]
    public async Task Subscriptions_sent_together_are_all_answered_as_redis_py_sends_them()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        await c.SendAsync([.. RespConnection.Request("SUBSCRIBE", "a"), .. RespConnection.Request("PSUBSCRIBE", "a*"),
            .. RespConnection.Request("PING")]);
        Assert.Equal("*3[$subscribe,$a,:1]", await c.ReadAsync());
        Assert.Equal("*3[$psubscribe,$a*,:2]", await c.ReadAsync());
        Assert.Equal("*2[$pong,$]", await c.ReadAsync());
        await using var publisher = await server.ConnectRespAsync();
        Assert.Equal(":2", await publisher.AskAsync("PUBLISH", "a", "both"));
        Assert.Equal("*3[$message,$a,$both]", await c.ReadAsync());
        Assert.Equal("*4[$pmessage,$a*,$a,$both]", await c.ReadAsync());
    }

    [Fact]
    public async Task A_resp2_subscriber_may_only_manage_its_subscriptions_until_it_has_none()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        Assert.Equal("*3[$subscribe,$a,:1]", await c.AskAsync("SUBSCRIBE", "a"));
        Assert.Equal("-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are " +
            "allowed in this context", await c.AskAsync("GET", "k"));
        Assert.Equal("*2[$pong,$]", await c.AskAsync("PING"));
        Assert.Equal("*3[$unsubscribe,$a,:0]", await c.AskAsync("UNSUBSCRIBE"));
        Assert.Equal("$nil", await c.AskAsync("GET", "k"));
        Assert.Equal("*3[$unsubscribe,$nil,:0]", await c.AskAsync("UNSUBSCRIBE"));
    }

    [Fact]
    public async Task After_hello_3_messages_are_pushes_and_any_command_is_allowed()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        await c.AskAsync("HELLO", "3");
        Assert.Equal(">3[$subscribe,$a,:1]", await c.AskAsync("SUBSCRIBE", "a"));
        Assert.Equal("_", await c.AskAsync("GET", "k"));
        await using var publisher = await server.ConnectRespAsync();
        Assert.Equal(":1", await publisher.AskAsync("PUBLISH", "a", "pushed"));
        Assert.Equal(">3[$message,$a,$pushed]", await c.ReadAsync());
    }

    [Fact]
    public async Task Stack_exchange_redis_subscribes_and_receives_what_another_client_publishes()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var redis = await RedisClient.ConnectAsync(server.RespPort);
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal("se-news"), (_,
            message) => received.TrySetResult(message!));
        await using var publisher = await server.ConnectRespAsync();
        Assert.Equal(":1", await publisher.AskAsync("PUBLISH", "se-news", "from raw RESP"));
        Assert.Equal("from raw RESP", await received.Task.WaitAsync(Programs.Timeout()));
        Assert.Equal(1, await redis.GetSubscriber().PublishAsync(RedisChannel.Literal("se-news"), "echo"));
    }

    [Fact]
    public async Task The_kv_client_receives_what_stack_exchange_redis_publishes_and_the_reverse()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var redis = await RedisClient.ConnectAsync(server.RespPort);
        await using var client = await ClientProcess.StartAsync("127.0.0.1", server.Port.ToString());
        await client.SendAsync("subscribe kv-news\n");
        Assert.Equal("OK 1", await client.ReadLineAsync());
        Assert.Equal(1, await redis.GetSubscriber().PublishAsync(RedisChannel.Literal("kv-news"),
            "from StackExchange.Redis"));
        // Redirected output: the channel and the message as they are.
        Assert.Equal("kv-news from StackExchange.Redis", await client.ReadLineAsync());

        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal("se-news"), (_,
            message) => received.TrySetResult(message!));
        Assert.Equal((0, "OK 1\n"), await ClientProcess.RunAsync("", "127.0.0.1", server.Port.ToString(), "publish",
            "se-news", "from KVClient"));
        Assert.Equal("from KVClient", await received.Task.WaitAsync(Programs.Timeout()));
    }

    [Fact]
    public async Task A_subscriber_that_never_reads_is_closed_at_its_bound_while_the_publisher_and_the_others_go_on()
    {
        await using var server = InProcessServer.Start("--resp-port", "0", "--max-client-memory", "4mb",
            "--idle-timeout", "0");
        await using var deaf = await server.ConnectRespAsync();
        await using var reader = await server.ConnectRespAsync();
        Assert.Equal("*3[$subscribe,$flood,:1]", await deaf.AskAsync("SUBSCRIBE", "flood"));
        Assert.Equal("*3[$subscribe,$flood,:1]", await reader.AskAsync("SUBSCRIBE", "flood"));
        var reading = Task.Run(async () =>
        {
            var last = "";
            while (!last.EndsWith("the end]")) last = await reader.ReadAsync();
            return last;
        }, TestContext.Current.CancellationToken);

        await using var publisher = await server.ConnectRespAsync();
        var message = new string('m', 1000);
        for (var i = 0; i < 20_000; i++) Assert.StartsWith(":", await publisher.AskAsync("PUBLISH", "flood", message));
        Assert.Equal(":1", await publisher.AskAsync("PUBLISH", "flood", "the end"));
        Assert.Equal("*3[$message,$flood,$the end]", await reading);
        await server.ExpectOutputAsync("disconnected: (subscriber fell behind|client memory limit reached)");
        var stats = await StatsTests.ReadAsync(await server.ConnectAsync());
        Assert.Contains(stats, s => s.Name == "messages_published" && s.Value == "20001");
        Assert.Contains(stats, s => s.Name == "pubsub_channels" && s.Value == "1");
        Assert.Contains(stats, s => s.Name == "connections_closed_by_limit" && long.Parse(s.Value) >= 1);
    }

    [Fact]
    public async Task A_pattern_unsubscribe_is_confirmed_as_punsubscribe()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var subscriber = await server.ConnectRespAsync();
        Assert.Equal("*3[$psubscribe,$news.*,:1]", await subscriber.AskAsync("PSUBSCRIBE", "news.*"));
        Assert.Equal("*3[$punsubscribe,$news.*,:0]", await subscriber.AskAsync("PUNSUBSCRIBE", "news.*"));
        Assert.Equal("*3[$unsubscribe,$nil,:0]", await subscriber.AskAsync("UNSUBSCRIBE"));
    }

    [Fact]
    public async Task A_pattern_longer_than_keys_allows_is_refused_and_nothing_is_subscribed()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var subscriber = await server.ConnectRespAsync();
        var tooLong = new string('?', RedisGlob.MaxPatternBytes + 1);
        Assert.Equal($"-ERR pattern longer than {RedisGlob.MaxPatternBytes} bytes",
            await subscriber.AskAsync("PSUBSCRIBE", "a*", tooLong));
        Assert.Equal(":0", await subscriber.AskAsync("PUBSUB", "NUMPAT"));
        Assert.Equal($"*3[$psubscribe,${new string('?', RedisGlob.MaxPatternBytes)},:1]",
            await subscriber.AskAsync("PSUBSCRIBE", new string('?', RedisGlob.MaxPatternBytes)));
    }

    [Fact]
    public async Task Subscriptions_count_against_the_clients_budget_and_come_back_when_forgotten()
    {
        await using var server = InProcessServer.Start("--resp-port", "0", "--max-client-memory", "1mb");
        await using var subscriber = await server.ConnectRespAsync();
        await using var observer = await server.ConnectRespAsync();
        var before = server.Server.ClientMemory;
        // Patterns of a thousand bytes hold about 5 KB each (the name, and the compiled glob: four bytes an element):
        // the budget refuses one of them after some two hundred, and nothing of that request is subscribed.
        static string Pattern(int i) => $"{i:D4}" + new string('?', 996);
        var accepted = 0;
        string reply;
        do reply = await subscriber.AskAsync("PSUBSCRIBE", Pattern(accepted));
        while (!reply.StartsWith('-') && ++accepted < 1_000);
        Assert.Equal("-ERR " + Subscriber.OverBudget, reply);
        Assert.InRange(accepted, 100, 250);
        Assert.Equal($":{accepted}", await observer.AskAsync("PUBSUB", "NUMPAT"));
        var held = server.Server.ClientMemory - before;
        Assert.True(held >= accepted * 5_000L, $"{held} bytes");
        // Forgotten all at once: the confirmations count down, and the budget has their memory back.
        await subscriber.SendAsync(RespConnection.Request("PUNSUBSCRIBE"));
        for (var left = accepted - 1; left >= 0; left--) Assert.EndsWith($",:{left}]", await subscriber.ReadAsync());
        Assert.Equal(":0", await observer.AskAsync("PUBSUB", "NUMPAT"));
        // What is left is at most the connection's buffers (the confirmations, as they are sent), not the patterns.
        held = server.Server.ClientMemory - before;
        Assert.True(held < 200_000, $"{held} bytes still held");
    }

    [Fact]
    public async Task Client_reply_off_and_skip_keep_replies_back_but_never_what_is_pushed()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        // OFF: no reply until ON, which is answered; the commands in between still ran.
        await c.SendAsync([.. RespConnection.Request("CLIENT", "REPLY", "OFF"),
            .. RespConnection.Request("SET", "k", "v"), .. RespConnection.Request("GET", "nope"),
            .. RespConnection.Request("CLIENT", "REPLY", "ON"), .. RespConnection.Request("GET", "k")]);
        Assert.Equal("+OK", await c.ReadAsync());
        Assert.Equal("$v", await c.ReadAsync());
        // SKIP: the next request only.
        await c.SendAsync([.. RespConnection.Request("CLIENT", "REPLY", "SKIP"),
            .. RespConnection.Request("SET", "a", "1"), .. RespConnection.Request("GET", "a")]);
        Assert.Equal("$1", await c.ReadAsync());
        // What is pushed goes out whatever the mode: RESP3's confirmations and messages.
        Assert.StartsWith("%", await c.AskAsync("HELLO", "3"));
        await c.SendAsync([.. RespConnection.Request("CLIENT", "REPLY", "OFF"),
            .. RespConnection.Request("SUBSCRIBE", "news")]);
        Assert.Equal(">3[$subscribe,$news,:1]", await c.ReadAsync());
        await using var publisher = await server.ConnectRespAsync();
        Assert.Equal(":1", await publisher.AskAsync("PUBLISH", "news", "hi"));
        Assert.Equal(">3[$message,$news,$hi]", await c.ReadAsync());
        // PUBSUB NUMPAT counts a pattern once, however many subscribe to it.
        await using var other = await server.ConnectRespAsync();
        await using var another = await server.ConnectRespAsync();
        await other.AskAsync("PSUBSCRIBE", "foo*");
        await another.AskAsync("PSUBSCRIBE", "foo*");
        Assert.Equal(":1", await publisher.AskAsync("PUBSUB", "NUMPAT"));
    }

    [Fact]
    public async Task Patterns_are_forgotten_one_by_one_without_a_scan_of_all_the_others()
    {
        var hub = PubSubHub.Of(new ServerActivity(TimeProvider.System));
        var subscriber = new Subscriber(hub, (_, _) => { });
        var names = Enumerable.Range(0, 200_000).Select(i => System.Text.Encoding.UTF8.GetBytes($"p:{i}:*")).ToList();
        Assert.NotNull(subscriber.TrySubscribe(names, pattern: true));
        Assert.Equal(200_000, hub.PatternCount);
        // A removal that scanned every pattern left made these twenty billion comparisons, minutes; a lookup by name
        // takes a fraction of a second. The watchdog only tells the two apart, far from either.
        var forgetting = Task.Run(() => names.ForEach(name => subscriber.Unsubscribe(name, pattern: true)));
        Assert.Same(forgetting, await Task.WhenAny(forgetting, Task.Delay(TimeSpan.FromSeconds(60))));
        Assert.Equal(0, hub.PatternCount);
        // A pattern shared: whichever subscriber leaves first, the others still receive through it.
        var shared = new[] { new Subscriber(hub, (_, _) => { }), new Subscriber(hub, (_, _) => { }), subscriber };
        foreach (var one in shared) one.TrySubscribe([names[0]], pattern: true);
        Assert.Equal(3, hub.Publish("p:0:x"u8, "m"u8));
        foreach (var (one, left) in shared.Zip([2, 1, 0]))
        {
            one.Unsubscribe(names[0], pattern: true);
            Assert.Equal(left, hub.Publish("p:0:x"u8, "m"u8));
        }
        Assert.Equal(0, hub.PatternCount);
    }
}

public class LinePubSubTests
{
    [Fact]
    public async Task Kv_and_resp_subscribers_receive_what_either_protocol_publishes()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var kv = await server.ConnectAsync();
        await using var resp = await server.ConnectRespAsync();
        Assert.Equal(new Reply.Counted(2), await kv.AskAsync("subscribe news sport"));
        Assert.Equal("*3[$subscribe,$news,:1]", await resp.AskAsync("SUBSCRIBE", "news"));

        await using var kvPublisher = await server.ConnectAsync();
        Assert.Equal(new Reply.Counted(2), await kvPublisher.AskAsync("publish news two  spaces, verbatim "));
        Assert.Equal("MESSAGE news two  spaces, verbatim ", await kv.ReadLineAsync());
        Assert.Equal("*3[$message,$news,$two  spaces, verbatim ]", await resp.ReadAsync());
        await using var respPublisher = await server.ConnectRespAsync();
        Assert.Equal(":1", await respPublisher.AskAsync("PUBLISH", "sport", "goal"));
        Assert.Equal("MESSAGE sport goal", await kv.ReadLineAsync());

        // Subscribed, a connection may manage its subscriptions, ping and leave; anything else is refused.
        Assert.Equal(new Reply.Error(Errors.Subscribed), await kv.AskAsync("get news"));
        // Refused, it is still listening: the next message comes without another request first.
        Assert.Equal(new Reply.Counted(2), await kvPublisher.AskAsync("publish news after the refusal"));
        Assert.Equal("MESSAGE news after the refusal", await kv.ReadLineAsync());
        Assert.Equal("*3[$message,$news,$after the refusal]", await resp.ReadAsync());
        Assert.IsType<Reply.Pong>(await kv.AskAsync("ping"));
        Assert.Equal(new Reply.Counted(1), await kv.AskAsync("unsubscribe news"));
        Assert.Equal(new Reply.Counted(0), await kv.AskAsync("unsubscribe"));
        Assert.Equal(new Reply.Error("key 'news' not found"), await kv.AskAsync("get news"));
        Assert.Equal(new Reply.Counted(1), await kvPublisher.AskAsync("publish news only RESP now"));
    }

    [Theory]
    [InlineData("--json")]
    [InlineData("--xml")]
    [InlineData("--yml")]
    public async Task The_client_prints_each_message_in_the_format_asked_as_a_stream_a_script_reads(string flag)
    {
        await using var server = InProcessServer.Start();
        // Subscribed, the client streams until Ctrl+C or the server's end: each format gets a client of its own.
        await using var client = await ClientProcess.StartAsync("127.0.0.1", server.Port.ToString());
        await using var publisher = await server.ConnectAsync();
        const string Tricky = "a\ttab, \"quotes\", <&> and 😀";
        await client.SendAsync($"subscribe fmt {flag}\n");
        Assert.Equal("OK 1", await client.ReadLineAsync());
        Assert.Equal(new Reply.Counted(1), await publisher.AskAsync("publish fmt " + Tricky));
        var line = await client.ReadLineAsync();
        if (flag == "--json")
        {
            using var json = System.Text.Json.JsonDocument.Parse(line);
            Assert.Equal(("fmt", Tricky), (json.RootElement.GetProperty("channel").GetString(),
                json.RootElement.GetProperty("message").GetString()));
        }
        else if (flag == "--yml")
        {
            // A YAML document a message: `---`, then its mapping.
            Assert.Equal("---", line);
            var yaml = FormatTests.ReadYaml(await client.ReadLineAsync() + "\n" + await client.ReadLineAsync());
            Assert.Equal(("fmt", Tricky), (yaml["channel"].Value, yaml["message"].Value));
        }
        else
        {
            var xml = System.Xml.Linq.XElement.Parse(line);
            Assert.Equal(("fmt", Tricky), ((string)xml.Attribute("channel")!, xml.Value));
        }
    }

    [Theory]
    [InlineData("subscribe",
        "wrong arguments for 'subscribe' (usage: subscribe CHANNEL [CHANNEL...] [--xml|--json|--yml])")]
    [InlineData("subscribe a  b",
        "unexpected extra space (one space separates each argument; usage: subscribe CHANNEL [CHANNEL...] " +
        "[--xml|--json|--yml])")]
    [InlineData("publish news", "wrong arguments for 'publish' (usage: publish CHANNEL MESSAGE)")]
    [InlineData("subscribe --json",
        "wrong arguments for 'subscribe' (usage: subscribe CHANNEL [CHANNEL...] [--xml|--json|--yml])")]
    [InlineData("subscribe a --csv",
        "unknown flag '--csv' for 'subscribe' (usage: subscribe CHANNEL [CHANNEL...] [--xml|--json|--yml])")]
    public void Bad_subscriptions_are_refused_before_they_are_sent(string line, string error) =>
        Assert.Equal(error, Assert.IsType<LineParse.Invalid>(Request.Parse(line)).Error);

    /// <summary>
    /// A line's channels are counted against the clients' budget before any is subscribed: one named twice, or already
    /// subscribed, costs one subscription, and all of it comes back when they go. Read on the subscriber's own
    /// account: the server's client_memory also moves with the connections' buffers while a test reads it.
    /// </summary>
    [Fact]
    public void A_channel_named_twice_or_already_subscribed_is_counted_once_and_given_back_whole()
    {
        var connection = new StoreTests.CapturedReply();
        var subscriber = new Subscriber(new PubSubHub(new ServerActivity(TimeProvider.System)), (_, _) => { });
        subscriber.Open(connection);
        const long Each = Subscriber.SubscriptionOverheadBytes + 4;
        Assert.True(subscriber.TrySubscribe(RequestParser.Parse("subscribe aaaa aaaa bbbb"u8).Channels));
        Assert.Equal((2, 2 * Each), (subscriber.Count, connection.Reserved));
        Assert.True(subscriber.TrySubscribe(RequestParser.Parse("subscribe bbbb cccc cccc"u8).Channels));
        Assert.Equal((3, 3 * Each), (subscriber.Count, connection.Reserved));
        foreach (var channel in RequestParser.Parse("unsubscribe cccc aaaa"u8).Channels)
            subscriber.Unsubscribe(channel);
        Assert.Equal((1, Each), (subscriber.Count, connection.Reserved));
    }

    [Fact]
    public async Task A_subscribe_line_past_the_budget_is_refused_whole()
    {
        await using var server = InProcessServer.Start("--max-client-memory", "8mb");
        await using var subscriber = await server.ConnectAsync();
        // A hundred thousand channels in one line: about ten megabytes of subscriptions, past the budget.
        var line = "subscribe " + string.Join(' ', Enumerable.Range(0, 100_000).Select(i => $"ch{i:D6}"));
        var refused = Assert.IsType<Reply.Error>(await subscriber.AskAsync(line));
        Assert.StartsWith("subscriptions past the clients' memory budget", refused.Message);
        await using var observer = await server.ConnectAsync();
        var stats = Assert.IsType<Reply.Stats>(await observer.AskAsync("stats")).Figures;
        Assert.Contains(stats, s => s.Name == "pubsub_channels" && s.Value == "0");
        Assert.Equal(new Reply.Counted(2), await subscriber.AskAsync("subscribe a b"));
    }
}
