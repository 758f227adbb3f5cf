// tests/KeyspaceEventsTests.cs: keyspace notifications: CONFIG SET notify-keyspace-events chooses classes of events,
// which reach pattern and channel subscribers of both protocols under Redis's names and channels, in the order the
// commands ran; a transaction's arrive when it commits; off by default.

using KV;
using Xunit;

public class KeyspaceEventsTests
{
    /// <summary>The next `count` pmessages of a `*` subscriber, each as "channel message".</summary>
    private static async Task<List<string>> EventsAsync(RespConnection subscriber, int count)
    {
        var events = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var message = await subscriber.ReadAsync();
            Assert.StartsWith("*4[$pmessage,$*,$", message);
            events.Add(message["*4[$pmessage,$*,$".Length..^1].Replace(",$", " "));
        }
        return events;
    }

    [Fact]
    public async Task Each_kind_of_change_is_published_under_redis_s_event_name_on_both_channels()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        await using var subscriber = await server.ConnectRespAsync();
        Assert.Equal("+OK", await c.AskAsync("CONFIG", "SET", "notify-keyspace-events", "KEA"));
        Assert.Equal("*3[$psubscribe,$*,:1]", await subscriber.AskAsync("PSUBSCRIBE", "*"));

        await c.AskAsync("SET", "s", "1", "EX", "100");
        Assert.Equal(["__keyspace@0__:s set", "__keyevent@0__:set s", "__keyspace@0__:s expire",
            "__keyevent@0__:expire s"], await EventsAsync(subscriber, 4));

        Assert.Equal("+OK", await c.AskAsync("CONFIG", "SET", "notify-keyspace-events", "AE"));
        await c.AskAsync("INCR", "s");
        await c.AskAsync("RENAME", "s", "t");
        await c.AskAsync("RPUSH", "l", "a", "b");
        await c.AskAsync("LMOVE", "l", "m", "LEFT", "RIGHT");
        await c.AskAsync("RPOP", "l");
        await c.AskAsync("HSET", "h", "f", "1");
        await c.AskAsync("HINCRBY", "h", "f", "1");
        await c.AskAsync("SADD", "set", "a");
        await c.AskAsync("SREM", "set", "absent");
        await c.AskAsync("ZADD", "z", "1", "a");
        await c.AskAsync("ZINCRBY", "z", "1", "a");
        await c.AskAsync("DEL", "t", "nothing");
        Assert.Equal(["incrby s", "rename_from s", "rename_to t", "rpush l", "rpush m", "lpop l", "rpop l", "del l",
            "hset h", "hincrby h", "sadd set", "zadd z", "zincr z", "del t"],
            (await EventsAsync(subscriber, 14)).Select(e => e["__keyevent@0__:".Length..]));

        // A deadline that passes: `expired`, when the key is removed (by the background pass nobody waits for).
        await c.AskAsync("SET", "brief", "1", "PX", "1");
        Assert.Equal(["__keyevent@0__:set brief", "__keyevent@0__:expire brief", "__keyevent@0__:expired brief"],
            await EventsAsync(subscriber, 3));
        // A deadline past before the set runs (what PX 1 becomes on a busy machine): stored and gone at once, and
        // said so, in the same order, as Redis says it.
        await c.AskAsync("SET", "gone", "1", "PXAT", "1");
        Assert.Equal(["__keyevent@0__:set gone", "__keyevent@0__:expire gone", "__keyevent@0__:expired gone"],
            await EventsAsync(subscriber, 3));
    }

    [Fact]
    public async Task Only_the_chosen_classes_are_published_and_nothing_by_default()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        await using var subscriber = await server.ConnectRespAsync();
        Assert.Equal("*2[$notify-keyspace-events,$]", await c.AskAsync("CONFIG", "GET", "notify-keyspace-events"));
        Assert.Equal("*3[$psubscribe,$*,:1]", await subscriber.AskAsync("PSUBSCRIBE", "*"));
        await c.AskAsync("SET", "a", "1");
        // A subscriber's messages go out before the reply it asked for: none came before this PONG.
        Assert.Equal("*2[$pong,$]", await subscriber.AskAsync("PING"));

        Assert.Equal("+OK", await c.AskAsync("CONFIG", "SET", "notify-keyspace-events", "lKn"));
        Assert.Equal("*2[$notify-keyspace-events,$lnK]", await c.AskAsync("CONFIG", "GET", "notify-keyspace-events"));
        await c.AskAsync("SET", "a", "2");
        await c.AskAsync("SET", "b", "1");
        await c.AskAsync("LPUSH", "a-list", "x");
        Assert.Equal(["__keyspace@0__:b new", "__keyspace@0__:a-list new", "__keyspace@0__:a-list lpush"],
            await EventsAsync(subscriber, 3));

        Assert.Equal("-ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event "
            + "class character. Use 'Ag$lshzxeKEtmdn'.", await c.AskAsync("CONFIG", "SET", "notify-keyspace-events",
            "KEq"));
        Assert.Equal("+OK", await c.AskAsync("CONFIG", "SET", "notify-keyspace-events", "A"));
        await c.AskAsync("LPUSH", "a-list", "y");
        Assert.Equal("*2[$pong,$]", await subscriber.AskAsync("PING"));
    }

    [Fact]
    public async Task A_transaction_s_events_arrive_when_it_commits_in_the_order_its_commands_ran()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        await using var subscriber = await server.ConnectRespAsync();
        Assert.Equal("+OK", await c.AskAsync("CONFIG", "SET", "notify-keyspace-events", "E$g"));
        Assert.Equal("*3[$psubscribe,$*,:1]", await subscriber.AskAsync("PSUBSCRIBE", "*"));
        Assert.Equal("+OK", await c.AskAsync("MULTI"));
        Assert.Equal("+QUEUED", await c.AskAsync("SET", "x", "1"));
        Assert.Equal("+QUEUED", await c.AskAsync("INCRBY", "x", "2"));
        Assert.Equal("+QUEUED", await c.AskAsync("DEL", "x"));
        Assert.Equal("*2[$pong,$]", await subscriber.AskAsync("PING"));
        Assert.Equal("*3[+OK,:3,:1]", await c.AskAsync("EXEC"));
        Assert.Equal(["__keyevent@0__:set x", "__keyevent@0__:incrby x", "__keyevent@0__:del x"],
            await EventsAsync(subscriber, 3));
    }

    [Fact]
    public async Task A_line_subscriber_hears_of_what_kv_s_own_commands_do()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var config = await server.ConnectRespAsync();
        Assert.Equal("+OK", await config.AskAsync("CONFIG", "SET", "notify-keyspace-events", "KEA"));
        await using var subscriber = await server.ConnectAsync();
        Assert.Equal(new Reply.Counted(1), await subscriber.AskAsync("subscribe __keyspace@0__:job"));
        await using var c = await server.ConnectAsync();
        await c.AskAsync("set job 1");
        await c.AskAsync("incr job 4");
        await c.AskAsync("expire job 60");
        await c.AskAsync("del job");
        await c.AskAsync("rpush job first");
        await c.AskAsync("lpop job");
        foreach (var happened in new[] { "set", "incrby", "expire", "del", "rpush", "lpop", "del" })
            Assert.Equal($"MESSAGE __keyspace@0__:job {happened}", await subscriber.ReadLineAsync());
    }
}
