// tests/TypesTests.cs: lists, hashes, sets and sorted sets over RESP and KV's protocol: Redis's replies, WRONGTYPE,
// key-level commands on every kind, the memory budget; blocking pops in every threading model: first come first
// served, one element each, a push in EXEC served when it commits, timeouts, clients that leave.

using KV;
using Xunit;

public class TypesTests
{
    /// <summary>Asks INFO until `count` clients are blocked: the waiters are in place, whatever the machine's load.
    /// </summary>
    private static async Task WaitForBlockedAsync(RespConnection watcher, int count)
    {
        var deadline = DateTime.UtcNow + Programs.Patience;
        while (!(await watcher.AskAsync("INFO", "clients")).Contains($"blocked_clients:{count}\r\n"))
        {
            Assert.True(DateTime.UtcNow < deadline, $"never {count} blocked clients");
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task Lists_answer_as_redis_does_and_an_emptied_list_is_removed()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        Assert.Equal(":3", await c.AskAsync("RPUSH", "q", "a", "b", "c"));
        Assert.Equal(":4", await c.AskAsync("LPUSH", "q", "z"));
        Assert.Equal("*4[$z,$a,$b,$c]", await c.AskAsync("LRANGE", "q", "0", "-1"));
        Assert.Equal("*2[$b,$c]", await c.AskAsync("LRANGE", "q", "-2", "100"));
        Assert.Equal("$a", await c.AskAsync("LINDEX", "q", "1"));
        Assert.Equal("$nil", await c.AskAsync("LINDEX", "q", "9"));
        Assert.Equal("+OK", await c.AskAsync("LSET", "q", "-1", "C"));
        Assert.Equal("-ERR index out of range", await c.AskAsync("LSET", "q", "9", "x"));
        Assert.Equal(":5", await c.AskAsync("LINSERT", "q", "BEFORE", "a", "y"));
        Assert.Equal(":-1", await c.AskAsync("LINSERT", "q", "AFTER", "nope", "y"));
        Assert.Equal(":1", await c.AskAsync("LPOS", "q", "y"));
        Assert.Equal(":1", await c.AskAsync("LREM", "q", "0", "y"));
        Assert.Equal("$z", await c.AskAsync("LPOP", "q"));
        Assert.Equal("*2[$C,$b]", await c.AskAsync("RPOP", "q", "2"));
        Assert.Equal("$a", await c.AskAsync("LMOVE", "q", "other", "LEFT", "RIGHT"));
        Assert.Equal(":0", await c.AskAsync("EXISTS", "q"));
        Assert.Equal("*-1[]", await c.AskAsync("LPOP", "q", "1"));
        Assert.Equal(":0", await c.AskAsync("LPUSHX", "q", "x"));
        Assert.Equal("+list", await c.AskAsync("TYPE", "other"));
        Assert.Equal("*2[$other,*1[$a]]", await c.AskAsync("LMPOP", "2", "q", "other", "LEFT", "COUNT", "5"));
        Assert.Equal("-ERR value is out of range, must be positive", await c.AskAsync("LPOP", "q", "-1"));
    }

    [Fact]
    public async Task A_key_of_another_kind_is_wrongtype_on_both_protocols_and_nothing_changes()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        await using var line = await server.ConnectAsync();
        const string WrongType = "-WRONGTYPE Operation against a key holding the wrong kind of value";
        Assert.Equal("+OK", await c.AskAsync("SET", "s", "text"));
        Assert.Equal(":1", await c.AskAsync("RPUSH", "l", "x"));
        Assert.Equal(WrongType, await c.AskAsync("LPUSH", "s", "y"));
        Assert.Equal(WrongType, await c.AskAsync("GET", "l"));
        Assert.Equal(WrongType, await c.AskAsync("INCR", "l"));
        Assert.Equal(WrongType, await c.AskAsync("APPEND", "l", "x"));
        Assert.Equal(WrongType, await c.AskAsync("HSET", "l", "f", "v"));
        Assert.Equal(WrongType, await c.AskAsync("SET", "l", "v", "GET"));
        Assert.Equal("*2[$text,$nil]", await c.AskAsync("MGET", "s", "l"));
        Assert.Equal("$text", await c.AskAsync("GET", "s"));
        Assert.Equal("*1[$x]", await c.AskAsync("LRANGE", "l", "0", "-1"));
        Assert.Equal(new Reply.Error(Errors.WrongKind(Commands.Of(CommandKind.Get), "l"u8, "list")),
            await line.AskAsync("get l"));
        Assert.Equal(new Reply.Value("list"), await line.AskAsync("type l"));
        // Inside EXEC a wrong kind is one error in the array; the other commands run.
        Assert.Equal("+OK", await c.AskAsync("MULTI"));
        await c.AskAsync("GET", "l");
        await c.AskAsync("RPUSH", "l", "y");
        Assert.Equal($"*2[{WrongType},:2]", await c.AskAsync("EXEC"));
        // SET replaces any kind, as in Redis.
        Assert.Equal("+OK", await c.AskAsync("SET", "l", "now a string"));
        Assert.Equal("+string", await c.AskAsync("TYPE", "l"));
    }

    [Fact]
    public async Task Every_key_level_command_works_on_every_kind_and_memory_comes_back()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        await using var line = await server.ConnectAsync();
        await c.AskAsync("RPUSH", "l", "a", "b");
        await c.AskAsync("HSET", "h", "f", "v");
        await c.AskAsync("SADD", "s", "m");
        await c.AskAsync("ZADD", "z", "1", "m");
        Assert.Equal("*2[$0,*1[$z]]", await c.AskAsync("SCAN", "0", "TYPE", "zset", "COUNT", "100"));
        Assert.Equal("*4[$h,$l,$s,$z]", await c.AskAsync("KEYS", "*"));
        Assert.Equal("+OK", await c.AskAsync("RENAME", "l", "l2"));
        Assert.Equal("*2[$a,$b]", await c.AskAsync("LRANGE", "l2", "0", "-1"));
        Assert.Equal(":1", await c.AskAsync("COPY", "h", "h2"));
        Assert.Equal(":1", await c.AskAsync("HSET", "h2", "g", "w"));
        Assert.Equal(":1", await c.AskAsync("HLEN", "h"));
        Assert.Equal(":1", await c.AskAsync("EXPIRE", "s", "100"));
        Assert.True(long.Parse((await c.AskAsync("TTL", "s"))[1..]) > 0);
        Assert.True(long.Parse((await c.AskAsync("MEMORY", "USAGE", "z"))[1..]) > SortedSetValue.MemberOverheadBytes);
        Assert.Equal(":5", await c.AskAsync("DEL", "l2", "h", "h2", "s", "z"));
        var figures = Assert.IsType<Reply.Stats>(await line.AskAsync("stats")).Figures;
        Assert.Equal("0", figures.Single(f => f.Name == "stored_bytes").Value);
        Assert.Equal(":0", await c.AskAsync("DBSIZE"));
    }

    [Fact]
    public async Task The_memory_budget_refuses_a_push_that_would_pass_it()
    {
        await using var server = InProcessServer.Start("--resp-port", "0", "--max-memory", "5000");
        await using var c = await server.ConnectRespAsync();
        const string Oom = "-OOM command not allowed when used memory > 'maxmemory'.";
        Assert.Equal(":1", await c.AskAsync("RPUSH", "q", new string('a', 2000)));
        Assert.Equal(Oom, await c.AskAsync("RPUSH", "q", new string('b', 3000)));
        Assert.Equal(Oom, await c.AskAsync("SADD", "s", new string('b', 3000)));
        Assert.Equal(":1", await c.AskAsync("LLEN", "q"));
        Assert.Equal(":0", await c.AskAsync("EXISTS", "s"));
    }

    [Fact]
    public async Task Hashes_sets_and_sorted_sets_answer_as_redis_does()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        Assert.Equal(":2", await c.AskAsync("HSET", "h", "a", "1", "b", "2"));
        Assert.Equal(":0", await c.AskAsync("HSET", "h", "a", "3"));
        Assert.Equal("*3[$3,$2,$nil]", await c.AskAsync("HMGET", "h", "a", "b", "c"));
        Assert.Equal(":13", await c.AskAsync("HINCRBY", "h", "a", "10"));
        Assert.Equal("$2.5", await c.AskAsync("HINCRBYFLOAT", "h", "b", "0.5"));
        Assert.Equal("-ERR hash value is not an integer", await c.AskAsync("HINCRBY", "h", "b", "1"));
        // A missing field is no empty value: HINCRBY starts it at 0, HSETNX sets it, HGET answers nil; an empty
        // value is there, and reads back empty.
        Assert.Equal(":5", await c.AskAsync("HINCRBY", "h", "n", "5"));
        Assert.Equal(":1", await c.AskAsync("HSETNX", "h", "e", ""));
        Assert.Equal(":0", await c.AskAsync("HSETNX", "h", "e", "x"));
        Assert.Equal("*2[$,$nil]", await c.AskAsync("HMGET", "h", "e", "missing"));
        Assert.Equal(":0", await c.AskAsync("HSTRLEN", "h", "e"));
        Assert.Equal(":2", await c.AskAsync("HDEL", "h", "n", "e"));
        Assert.Equal(":2", await c.AskAsync("HDEL", "h", "a", "b", "c"));
        Assert.Equal(":0", await c.AskAsync("EXISTS", "h"));

        Assert.Equal(":3", await c.AskAsync("SADD", "s1", "a", "b", "c"));
        Assert.Equal(":2", await c.AskAsync("SADD", "s2", "b", "c", "c"));
        Assert.Equal("*2[:1,:0]", await c.AskAsync("SMISMEMBER", "s1", "a", "z"));
        Assert.Equal("*1[$a]", await c.AskAsync("SDIFF", "s1", "s2"));
        Assert.Equal(":2", await c.AskAsync("SINTERSTORE", "both", "s1", "s2"));
        Assert.Equal(":2", await c.AskAsync("SINTERCARD", "2", "s1", "s2"));
        Assert.Equal(":1", await c.AskAsync("SMOVE", "s1", "s2", "a"));
        Assert.Equal(":3", await c.AskAsync("SCARD", "s2"));

        Assert.Equal(":3", await c.AskAsync("ZADD", "z", "1", "a", "2", "b", "3", "c"));
        Assert.Equal(":0", await c.AskAsync("ZADD", "z", "GT", "0", "a"));
        Assert.Equal(":1", await c.AskAsync("ZADD", "z", "GT", "CH", "5", "a"));
        Assert.Equal("*6[$b,$2,$c,$3,$a,$5]", await c.AskAsync("ZRANGE", "z", "0", "-1", "WITHSCORES"));
        Assert.Equal("*2[$a,$c]", await c.AskAsync("ZREVRANGEBYSCORE", "z", "+inf", "(2"));
        Assert.Equal("*1[$c]", await c.AskAsync("ZRANGE", "z", "(2", "10", "BYSCORE", "LIMIT", "0", "1"));
        Assert.Equal(":2", await c.AskAsync("ZRANK", "z", "a"));
        Assert.Equal("$6.5", await c.AskAsync("ZINCRBY", "z", "1.5", "a"));
        Assert.Equal("*2[$b,$2]", await c.AskAsync("ZPOPMIN", "z"));
        Assert.Equal(":2", await c.AskAsync("ZCOUNT", "z", "-inf", "+inf"));
        Assert.Equal(":3", await c.AskAsync("ZUNIONSTORE", "u", "2", "z", "s2", "WEIGHTS", "2", "1"));
        Assert.Equal("*2[$b,$1]", await c.AskAsync("ZRANGE", "u", "0", "0", "WITHSCORES"));
        Assert.Equal("-ERR min or max is not a float", await c.AskAsync("ZCOUNT", "z", "x", "1"));
    }

    [Theory]
    [MemberData(nameof(Models.All), MemberType = typeof(Models))]
    public async Task Waiters_are_served_first_come_first_served_one_element_each(string model)
    {
        await using var server = InProcessServer.Start("--resp-port", "0", "--threading", model);
        await using var watcher = await server.ConnectRespAsync();
        var waiters = new List<RespConnection>();
        for (var i = 0; i < 3; i++)
        {
            var waiter = await server.ConnectRespAsync();
            waiters.Add(waiter);
            await waiter.SendAsync(RespConnection.Request("BLPOP", "other", "jobs", "0"));
            await WaitForBlockedAsync(watcher, i + 1);
        }
        Assert.Equal(":2", await watcher.AskAsync("RPUSH", "jobs", "j1", "j2"));
        Assert.Equal("*2[$jobs,$j1]", await waiters[0].ReadAsync());
        Assert.Equal("*2[$jobs,$j2]", await waiters[1].ReadAsync());
        Assert.Equal(":0", await watcher.AskAsync("LLEN", "jobs"));
        Assert.Equal(":1", await watcher.AskAsync("RPUSH", "jobs", "j3"));
        Assert.Equal("*2[$jobs,$j3]", await waiters[2].ReadAsync());
        await WaitForBlockedAsync(watcher, 0);
        foreach (var waiter in waiters) await waiter.DisposeAsync();
    }

    [Theory]
    [MemberData(nameof(Models.All), MemberType = typeof(Models))]
    public async Task A_push_inside_exec_is_served_when_it_commits_and_a_timeout_answers_nil(string model)
    {
        await using var server = InProcessServer.Start("--resp-port", "0", "--threading", model);
        await using var watcher = await server.ConnectRespAsync();
        await using var waiter = await server.ConnectRespAsync();
        await waiter.SendAsync(RespConnection.Request("BRPOPLPUSH", "src", "dst", "0"));
        await WaitForBlockedAsync(watcher, 1);
        Assert.Equal("+OK", await watcher.AskAsync("MULTI"));
        await watcher.AskAsync("LPUSH", "src", "taken in the transaction");
        await watcher.AskAsync("LPOP", "src");
        await watcher.AskAsync("LPUSH", "src", "left for the waiter");
        Assert.Equal("*3[:1,$taken in the transaction,:1]", await watcher.AskAsync("EXEC"));
        Assert.Equal("$left for the waiter", await waiter.ReadAsync());
        Assert.Equal("*1[$left for the waiter]", await watcher.AskAsync("LRANGE", "dst", "0", "-1"));
        Assert.Equal("*-1[]", await waiter.AskAsync("BLPOP", "nothing", "0.05"));
        // Inside MULTI nothing waits: nil at once.
        Assert.Equal("+OK", await waiter.AskAsync("MULTI"));
        await waiter.AskAsync("BLPOP", "nothing", "0");
        Assert.Equal("*1[*-1[]]", await waiter.AskAsync("EXEC"));
    }

    [Theory]
    [MemberData(nameof(Models.All), MemberType = typeof(Models))]
    public async Task A_client_that_leaves_while_blocked_is_forgotten_and_takes_nothing(string model)
    {
        await using var server = InProcessServer.Start("--resp-port", "0", "--threading", model);
        await using var watcher = await server.ConnectRespAsync();
        var leaving = await server.ConnectRespAsync();
        await leaving.SendAsync(RespConnection.Request("BLPOP", "jobs", "0"));
        await WaitForBlockedAsync(watcher, 1);
        await leaving.DisposeAsync();
        await WaitForBlockedAsync(watcher, 0);
        Assert.Equal(":1", await watcher.AskAsync("RPUSH", "jobs", "kept"));
        Assert.Equal("*1[$kept]", await watcher.AskAsync("LRANGE", "jobs", "0", "-1"));
    }

    [Fact]
    public async Task The_line_protocol_has_the_queue_lesson()
    {
        await using var server = InProcessServer.Start();
        await using var producer = await server.ConnectAsync();
        await using var worker = await server.ConnectAsync();
        Assert.Equal(new Reply.Counted(1), await producer.AskAsync("rpush jobs first job"));
        Assert.Equal(new Reply.Counted(2), await producer.AskAsync("rpush jobs \"bytes\\x00\""));
        Assert.Equal(new Reply.Value("2"), await producer.AskAsync("llen jobs"));
        var range = Assert.IsType<Reply.Values>(await producer.AskAsync("lrange jobs 0 -1"));
        Assert.Equal(["first job", "\"bytes\\x00\""], range.Items);
        Assert.Equal(new Reply.Value("first job"), await worker.AskAsync("lpop jobs"));
        Assert.Equal(new Reply.Value("\"bytes\\x00\""), await worker.AskAsync("blpop jobs 0"));
        Assert.Equal(new Reply.Error(Errors.EmptyList("jobs"u8)), await worker.AskAsync("rpop jobs"));
        Assert.Equal(new Reply.Error(Errors.NotFound("jobs"u8)), await worker.AskAsync("type jobs"));
        await worker.SendAsync("brpop jobs 0\n");
        var deadline = DateTime.UtcNow + Programs.Patience;
        while ((await producer.AskAsync("stats") as Reply.Stats)!.Figures.Single(f => f.Name == "blocked_clients")
            .Value != "1")
            Assert.True(DateTime.UtcNow < deadline, "the worker never blocked");
        Assert.Equal(new Reply.Counted(1), await producer.AskAsync("lpush jobs later"));
        Assert.Equal(new Reply.Value("later"), await worker.ReadAsync());
        Assert.Equal(new Reply.Error(Errors.NothingArrived("jobs"u8, 1)), await worker.AskAsync("blpop jobs 1"));
    }

    [Fact]
    public async Task Sorted_sets_pop_from_the_first_of_many_keys_and_count_an_intersection()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        await c.AskAsync("ZADD", "z1", "1", "a", "2", "b", "3", "c");
        await c.AskAsync("ZADD", "z2", "2", "b", "4", "d");
        Assert.Equal(":1", await c.AskAsync("ZINTERCARD", "2", "z1", "z2"));
        Assert.Equal("-ERR at least 1 input key is needed for 'zintercard' command",
            await c.AskAsync("ZINTERCARD", "0", "z1"));
        Assert.Equal("*2[$z1,*2[*2[$c,$3],*2[$b,$2]]]", await c.AskAsync("ZMPOP", "2", "none", "z1", "MAX", "COUNT",
            "2"));
        Assert.Equal("-ERR count should be greater than 0", await c.AskAsync("ZMPOP", "1", "z1", "MIN", "COUNT", "x"));
        Assert.Equal("*2[$z1,*1[*2[$a,$1]]]", await c.AskAsync("BZMPOP", "0", "1", "z1", "MIN"));
        // Scores are written as Redis 7.0 writes them: 17 significant digits.
        Assert.Equal(":1", await c.AskAsync("ZADD", "f", "0.1", "m"));
        Assert.Equal("$0.10000000000000001", await c.AskAsync("ZSCORE", "f", "m"));
        Assert.Equal("$10.6", await c.AskAsync("INCRBYFLOAT", "n", "10.6"));
        Assert.Equal("-ERR value is not a valid float", await c.AskAsync("INCRBYFLOAT", "n", "x"));
        Assert.Equal(":1", await c.AskAsync("RPUSH", "l", "x"));
        Assert.Equal("$quicklist", await c.AskAsync("OBJECT", "ENCODING", "l"));
        Assert.Equal("$embstr", await c.AskAsync("OBJECT", "ENCODING", "n"));
        Assert.Equal("+OK", await c.AskAsync("SET", "i", "42"));
        Assert.Equal("$int", await c.AskAsync("OBJECT", "ENCODING", "i"));
        Assert.Equal("$blocks", await c.AskAsync("OBJECT", "ENCODING", "f"));
    }

    [Fact]
    public async Task Config_set_remembers_redis_s_tunables_and_refuses_others()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        Assert.Equal("+OK", await c.AskAsync("CONFIG", "SET", "zset-max-ziplist-entries", "0"));
        Assert.Equal("*2[$zset-max-ziplist-entries,$0]", await c.AskAsync("CONFIG", "GET",
            "zset-max-ziplist-entries"));
        Assert.Equal("*2[$zset-max-listpack-entries,$0]", await c.AskAsync("CONFIG", "GET",
            "zset-max-listpack-entries"));
        Assert.Equal("+OK", await c.AskAsync("CONFIG", "SET", "save", ""));
        Assert.Equal("-ERR Unknown option or number of arguments for CONFIG SET - 'no-such-parameter'",
            await c.AskAsync("CONFIG", "SET", "no-such-parameter", "1"));
    }

    [Fact]
    public async Task Client_unblock_ends_a_wait_with_nil_or_an_error_and_client_list_names_the_clients()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var watcher = await server.ConnectRespAsync();
        await using var waiter = await server.ConnectRespAsync();
        Assert.Equal("+OK", await waiter.AskAsync("CLIENT", "SETNAME", "worker-1"));
        var id = (await waiter.AskAsync("CLIENT", "ID"))[1..];
        Assert.Contains($"id={id} ", await watcher.AskAsync("CLIENT", "LIST"));
        Assert.Contains("name=worker-1 ", await watcher.AskAsync("CLIENT", "LIST"));
        await waiter.SendAsync(RespConnection.Request("BLPOP", "l", "0"));
        await WaitForBlockedAsync(watcher, 1);
        Assert.Equal(":1", await watcher.AskAsync("CLIENT", "UNBLOCK", id));
        Assert.Equal("*-1[]", await waiter.ReadAsync());
        await waiter.SendAsync(RespConnection.Request("BLPOP", "l", "0"));
        await WaitForBlockedAsync(watcher, 1);
        Assert.Equal(":1", await watcher.AskAsync("CLIENT", "UNBLOCK", id, "ERROR"));
        Assert.Equal("-UNBLOCKED client unblocked via CLIENT UNBLOCK", await waiter.ReadAsync());
        Assert.Equal(":0", await watcher.AskAsync("CLIENT", "UNBLOCK", id));
    }

    [Fact]
    public async Task A_move_to_a_key_of_another_kind_waits_and_then_answers_wrongtype_leaving_the_element()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var watcher = await server.ConnectRespAsync();
        await using var waiter = await server.ConnectRespAsync();
        Assert.Equal("+OK", await watcher.AskAsync("SET", "target", "a string"));
        await waiter.SendAsync(RespConnection.Request("BRPOPLPUSH", "source", "target", "0"));
        await WaitForBlockedAsync(watcher, 1);
        Assert.Equal(":1", await watcher.AskAsync("RPUSH", "source", "job"));
        Assert.Equal("-WRONGTYPE Operation against a key holding the wrong kind of value", await waiter.ReadAsync());
        Assert.Equal("*1[$job]", await watcher.AskAsync("LRANGE", "source", "0", "-1"));
    }

    [Fact]
    public void A_packed_list_behaves_as_a_list_of_arrays_through_random_changes()
    {
        var random = new Random(7);
        var list = new ListValue();
        var model = new List<byte[]>();
        for (var step = 0; step < 40_000; step++)
        {
            // Mostly short elements, half of them alike but for a number (so that entries share their start), now and
            // then one larger than a chunk.
            var element = random.Next(500) == 0 ? new byte[ListValue.ChunkBytes + random.Next(100)]
                : System.Text.Encoding.ASCII.GetBytes(random.Next(2) == 0 ? $"element:{step % 997}"
                    : new string('x', random.Next(0, 300)) + step);
            // Pushes win for a while (four more choices, each a push), then pops, so that chunks fill and empty.
            var choice = random.Next(model.Count == 0 ? 2 : step / 5_000 % 2 == 0 ? 13 : 9);
            switch (choice >= 9 ? choice % 2 : choice)
            {
                case 0: list.PushLeft(element); model.Insert(0, element); break;
                case 1: list.PushRight(element); model.Add(element); break;
                case 2: Assert.Equal(model[0], list.Pop(left: true)); model.RemoveAt(0); break;
                case 3: Assert.Equal(model[^1], list.Pop(left: false)); model.RemoveAt(model.Count - 1); break;
                case 4:
                    var at = random.Next(model.Count);
                    Assert.Equal(model[at], list[at]);
                    list[at] = element;
                    model[at] = element;
                    break;
                case 5:
                    var insertAt = random.Next(model.Count + 1);
                    list.Insert(insertAt, element);
                    model.Insert(insertAt, element);
                    break;
                case 6:
                    var removeAt = random.Next(model.Count);
                    Assert.Equal(model[removeAt], list.RemoveAt(removeAt));
                    model.RemoveAt(removeAt);
                    break;
                case 7:
                    var (from, to) = (random.Next(model.Count), random.Next(model.Count));
                    Assert.Equal(model.Skip(from).Take(to - from + 1), list.Slice(from, to));
                    break;
                default:
                    if (random.Next(20) == 0)
                    {
                        var (start, stop) = (random.Next(model.Count), random.Next(model.Count));
                        list.Keep(start, stop);
                        model = [.. model.Skip(start).Take(stop - start + 1)];
                    }
                    break;
            }
            Assert.Equal(model.Count, list.Count);
        }
        Assert.Equal(model, list.Slice(0, list.Count - 1));
        Assert.Equal(Enumerable.Reverse(model), list.Backward());
        Assert.Equal(model, ((ListValue)list.Copy()).Slice(0, model.Count - 1));
        // Memory is its chunks: emptied, it holds none.
        while (list.Count > 0) list.Pop(left: random.Next(2) == 0);
        Assert.Equal(0, list.Bytes);
    }

    [Fact]
    public async Task Streams_add_entries_with_growing_ids_read_ranges_either_way_and_trim()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        Assert.Equal("$5-1", await c.AskAsync("XADD", "s", "5-1", "job", "a"));
        Assert.Equal("$5-2", await c.AskAsync("XADD", "s", "5-*", "job", "b"));
        Assert.Equal("-ERR The ID specified in XADD is equal or smaller than the target stream top item",
            await c.AskAsync("XADD", "s", "4-0", "job", "c"));
        Assert.Equal("-ERR The ID specified in XADD must be greater than 0-0", await c.AskAsync("XADD", "t", "0-0",
            "f", "v"));
        Assert.StartsWith("$", await c.AskAsync("XADD", "s", "MAXLEN", "~", "2", "*", "job", "c"));
        Assert.Equal(":2", await c.AskAsync("XLEN", "s"));
        Assert.Equal("*1[*2[$5-2,*2[$job,$b]]]", await c.AskAsync("XRANGE", "s", "-", "+", "COUNT", "1"));
        Assert.Equal("*1[*2[$5-2,*2[$job,$b]]]", await c.AskAsync("XREVRANGE", "s", "(6", "-"));
        Assert.Equal(":1", await c.AskAsync("XDEL", "s", "5-2", "9-9"));
        Assert.Equal("+stream", await c.AskAsync("TYPE", "s"));
        Assert.Equal("$nil", await c.AskAsync("XADD", "none", "NOMKSTREAM", "*", "f", "v"));
        Assert.Equal(":1", await c.AskAsync("XTRIM", "s", "MAXLEN", "0"));
        // An emptied stream stays, as Redis's does (its last ID with it).
        Assert.Equal(":1", await c.AskAsync("EXISTS", "s"));
        Assert.Equal(":0", await c.AskAsync("XLEN", "s"));
    }
}
