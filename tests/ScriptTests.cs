// tests/ScriptTests.cs: Lua scripts over RESP: EVAL and EVALSHA with Redis's conversions both ways, the cache,
// the sandbox, a script as one step against a concurrent reader in every threading model, a script stopped by
// SCRIPT KILL with its writes undone while others are answered BUSY, a memory bomb, and redis-py's Lock.

using KV;
using Xunit;

public class ScriptTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private InProcessServer Server => shared.Server;

    [Fact]
    public async Task Eval_converts_lua_values_as_redis_does()
    {
        await using var c = await Server.ConnectRespAsync();
        Assert.Equal(":3", await c.AskAsync("EVAL", "return 3.99", "0"));
        Assert.Equal("$text", await c.AskAsync("EVAL", "return 'text'", "0"));
        Assert.Equal("*3[:1,$two,:1]", await c.AskAsync("EVAL", "return {1, 'two', true, nil, 5}", "0"));
        Assert.Equal("$nil", await c.AskAsync("EVAL", "return false", "0"));
        Assert.Equal("$nil", await c.AskAsync("EVAL", "return nil", "0"));
        Assert.Equal("+fine", await c.AskAsync("EVAL", "return redis.status_reply('fine')", "0"));
        Assert.Equal("-MY failure", await c.AskAsync("EVAL", "return redis.error_reply('MY failure')", "0"));
        Assert.Equal("*2[$k1,$a1]", await c.AskAsync("EVAL", "return {KEYS[1], ARGV[1]}", "1", "k1", "a1"));
        Assert.Equal("-ERR Number of keys can't be greater than number of args", await c.AskAsync("EVAL",
            "return 1", "2", "k"));
        Assert.Equal("-ERR Number of keys can't be negative", await c.AskAsync("EVAL", "return 1", "-1"));
    }

    [Fact]
    public async Task Commands_replies_become_lua_values_and_errors_raise_or_return()
    {
        await using var c = await Server.ConnectRespAsync();
        Assert.Equal("+OK", await c.AskAsync("EVAL", "return redis.call('set', KEYS[1], 'v')", "1", "sc-a"));
        Assert.Equal("*4[$v,:1,$ok,$false]", await c.AskAsync("EVAL", """
            local v = redis.call('get', KEYS[1])
            local missing = redis.call('get', 'sc-missing')
            return {v, redis.call('exists', KEYS[1]), redis.call('set', KEYS[1], 'v').ok:lower(), tostring(missing)}
            """, "1", "sc-a"));
        Assert.Equal("$ERR value is not an integer or out of range", await c.AskAsync("EVAL",
            "return redis.pcall('incr', KEYS[1]).err", "1", "sc-a"));
        Assert.StartsWith("-ERR value is not an integer", await c.AskAsync("EVAL",
            "redis.call('incr', KEYS[1]) return 'not here'", "1", "sc-a"));
        Assert.Equal("-ERR Unknown Redis command called from script", await c.AskAsync("EVAL",
            "return redis.call('nope')", "0"));
        Assert.Equal("-ERR This Redis command is not allowed from script", await c.AskAsync("EVAL",
            "return redis.call('flushdb')", "0"));
        // Redis 7.0's blocking pops are refused in a script; BLMPOP and BZMPOP answer at once (nil here).
        foreach (var blocking in new[] { "'blpop', 'sc-q', 0", "'brpoplpush', 'sc-q', 'sc-r', 0",
            "'bzpopmax', 'sc-q', 0" })
            Assert.Equal("-ERR This Redis command is not allowed from script", await c.AskAsync("EVAL",
                $"return redis.call({blocking})", "0"));
        Assert.Equal("$nil", await c.AskAsync("EVAL", "return redis.call('blmpop', 0, 1, 'sc-q', 'left')", "0"));
        // A stream read with BLOCK is refused by name; without it, it reads.
        Assert.Equal("-ERR xread command is not allowed with BLOCK option from scripts", await c.AskAsync("EVAL",
            "return redis.call('xread', 'BLOCK', 0, 'STREAMS', 'sc-s', '$')", "0"));
        Assert.Equal("$nil", await c.AskAsync("EVAL", "return redis.call('xread', 'STREAMS', 'sc-s', '0')", "0"));
        Assert.Equal("-ERR Write commands are not allowed from read-only scripts.", await c.AskAsync("EVAL_RO",
            "return redis.call('set', 'x', 'y')", "0"));
        Assert.Equal("$v", await c.AskAsync("EVAL_RO", "return redis.call('get', KEYS[1])", "1", "sc-a"));
    }

    [Fact]
    public async Task Resp3_carries_booleans_doubles_and_maps()
    {
        await using var c = await Server.ConnectRespAsync();
        await c.AskAsync("HELLO", "3");
        Assert.Equal("#t", await c.AskAsync("EVAL", "return true", "0"));
        Assert.Equal(",3.5", await c.AskAsync("EVAL", "return {double = 3.5}", "0"));
        Assert.Equal("%1[$a,:1]", await c.AskAsync("EVAL", "return {map = {a = 1}}", "0"));
        Assert.Equal("_", await c.AskAsync("EVAL", "return nil", "0"));
        Assert.Equal("$nil-is-nil", await c.AskAsync("EVAL",
            "redis.setresp(3) if redis.call('get', 'sc-absent') == nil then return 'nil-is-nil' end return 'no'", "0"));
    }

    [Fact]
    public async Task A_monitor_sees_the_script_and_the_commands_it_calls()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var monitor = await server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await monitor.AskAsync("monitor"));
        await using var c = await server.ConnectRespAsync();
        Assert.Equal(":1", await c.AskAsync("EVAL", "return redis.call('incr', KEYS[1])", "1", "seen"));
        Assert.EndsWith("] EVAL \"return redis.call('incr', KEYS[1])\" 1 seen", await monitor.ReadLineAsync());
        Assert.Matches(@" \[\d+ lua \S+\] incr seen$", await monitor.ReadLineAsync());
    }

    [Fact]
    public async Task Scripts_are_cached_by_sha1_and_flushed()
    {
        await using var c = await Server.ConnectRespAsync();
        const string Body = "return 'cached ' .. ARGV[1]";
        var sha = LuaEngine.Sha1Hex(System.Text.Encoding.UTF8.GetBytes(Body));
        Assert.Equal("$" + sha, await c.AskAsync("SCRIPT", "LOAD", Body));
        Assert.Equal("$cached x", await c.AskAsync("EVALSHA", sha, "0", "x"));
        Assert.Equal("$cached y", await c.AskAsync("EVALSHA", sha.ToUpperInvariant(), "0", "y"));
        Assert.Equal("*2[:1,:0]", await c.AskAsync("SCRIPT", "EXISTS", sha, "ffff"));
        Assert.Equal("$da39a3ee5e6b4b0d3255bfef95601890afd80709", await c.AskAsync("EVAL",
            "return redis.sha1hex('')", "0"));
        Assert.StartsWith("-ERR Error compiling script", await c.AskAsync("EVAL", "return (", "0"));
        Assert.Equal("-NOTBUSY No scripts in execution right now.", await c.AskAsync("SCRIPT", "KILL"));
    }

    [Theory]
    [InlineData("return os.time()", "nonexistent global variable 'os'")]
    [InlineData("return io.open('/etc/passwd')", "nonexistent global variable 'io'")]
    [InlineData("return debug.getinfo(1)", "nonexistent global variable 'debug'")]
    [InlineData("return load('return 1')()", "nonexistent global variable 'load'")]
    [InlineData("return require('os')", "nonexistent global variable 'require'")]
    [InlineData("return dofile('/etc/passwd')", "nonexistent global variable 'dofile'")]
    [InlineData("leaked = 1", "Attempt to modify a readonly table")]
    [InlineData("setmetatable(_G, {})", "user_script:1: Attempt to modify a readonly table")]
    [InlineData("rawset(_G, 'leaked', 1)", "user_script:1: Attempt to modify a readonly table")]
    [InlineData("redis.call = nil", "Attempt to modify a readonly table")]
    [InlineData("string.rep = nil", "Attempt to modify a readonly table")]
    [InlineData("getmetatable('').__index.rep = nil", "attempt to index a boolean value")]
    [InlineData("redis = {call = function() return 1 end}", "script tried to set global 'redis'")]
    [InlineData("string = nil", "script tried to set global 'string'")]
    [InlineData("_G = {}", "script tried to set global '_G'")]
    [InlineData("_G.redis = nil", "script tried to set global 'redis'")]
    [InlineData("getmetatable(_G).__index = {}", "user_script:1: Attempt to modify a readonly table")]
    [InlineData("setmetatable({}, {__gc = function() while true do end end})", "__gc metamethods are not allowed")]
    [InlineData("collectgarbage('stop')", "collectgarbage('stop') is not allowed in scripts")]
    [InlineData("collectgarbage('generational')", "collectgarbage('generational') is not allowed in scripts")]
    public async Task The_sandbox_has_no_io_os_or_loading_and_globals_cannot_be_written(string body, string error)
    {
        await using var c = await Server.ConnectRespAsync();
        var reply = await c.AskAsync("EVAL", body, "0");
        Assert.StartsWith("-ERR ", reply);
        Assert.Contains(error, reply);
        // Nothing of it reached the next script.
        Assert.Equal("*2[$aa,$PONG]", await c.AskAsync("EVAL", "return {string.rep('a', 2), redis.call('ping').ok}",
            "0"));
        Assert.Equal("*2[:1,:1]", await c.AskAsync("EVAL",
            "return {collectgarbage('isrunning') and 1 or 0, collectgarbage('count') > 0 and 1 or 0}", "0"));
        Assert.StartsWith("-ERR user_script:1: Script attempted to access nonexistent global variable 'leaked'",
            await c.AskAsync("EVAL", "return leaked", "0"));
    }

    [Fact]
    public async Task What_a_script_adds_to_KEYS_or_ARGV_never_reaches_the_next_script()
    {
        // KEYS and ARGV are two tables refilled for each script: one a script added to is replaced.
        await using var c = await Server.ConnectRespAsync();
        const string Count = """
            local n = 0
            for _ in pairs(KEYS) do n = n + 1 end
            for _ in pairs(ARGV) do n = n + 1 end
            return {n, #KEYS, #ARGV, KEYS[1] or 'none', ARGV[1] or 'none'}
            """;
        Assert.Equal("*5[:4,:2,:2,$k1,$a1]", await c.AskAsync("EVAL", Count, "2", "k1", "k2", "a1", "a2"));
        foreach (var change in new[] { "table.insert(ARGV, 'more')", "ARGV.named = 1", "KEYS[100] = 'far'",
            "rawset(KEYS, 'raw', 1)", "KEYS[1] = nil ARGV[3] = 'x'" })
        {
            Assert.Equal(":1", await c.AskAsync("EVAL", change + " return 1", "1", "k1", "a1", "a2"));
            Assert.Equal("*5[:1,:1,:0,$only,$none]", await c.AskAsync("EVAL", Count, "1", "only"));
            Assert.Equal("*5[:0,:0,:0,$none,$none]", await c.AskAsync("EVAL", Count, "0"));
        }
    }

    [Fact]
    public void A_script_found_before_a_flush_and_run_after_it_is_told_it_is_gone()
    {
        // EVALSHA finds its script outside the store's lock and runs it inside: a SCRIPT FLUSH may come between.
        using var engine = new LuaEngine(1 << 20);
        byte[] body = "return 'flushed'"u8.ToArray(), other = "return 'another'"u8.ToArray();
        var sha = LuaEngine.Sha1Hex(body);
        var (script, _) = engine.Compile(sha, ScriptFlags.None, body);
        Assert.Same(script, engine.Find(System.Text.Encoding.ASCII.GetBytes(sha.ToUpperInvariant())));
        Assert.Same(script, engine.Find(script!.ShaBytes));
        engine.Flush();
        Assert.Null(engine.Find(script.ShaBytes));
        // Lua hands the freed reference to the next function it keeps.
        engine.Compile(LuaEngine.Sha1Hex(other), ScriptFlags.None, other);
        var words = new RespArguments([.. new[] { "EVALSHA", sha, "0" }.Select(word =>
            new System.Buffers.ReadOnlySequence<byte>(System.Text.Encoding.ASCII.GetBytes(word)))]);
        var (error, killed) = engine.Run(script, new ScriptInput(words, 0), new NoCommands());
        Assert.Equal("NOSCRIPT No matching script. Please use EVAL.", error);
        Assert.False(killed);
    }

    private sealed class NoCommands : IScriptHost
    {
        public ReadOnlyMemory<byte> Command(List<System.Buffers.ReadOnlySequence<byte>> words) =>
            throw new InvalidOperationException("no command expected");

        public void Reply(KeraLua.Lua lua) { }
    }

    [Fact]
    public async Task A_memory_bomb_fails_and_the_server_goes_on()
    {
        await using var c = await Server.ConnectRespAsync();
        Assert.Equal("-ERR script used more than its memory limit (the Lua heap)", await c.AskAsync("EVAL",
            "local t = {} for i = 1, 1e9 do t[i] = i end return #t", "0"));
        Assert.Equal("-ERR script used more than its memory limit (the Lua heap)", await c.AskAsync("EVAL",
            "local s = 'x' for i = 1, 40 do s = s .. s end return #s", "0"));
        Assert.Equal(":2", await c.AskAsync("EVAL", "return 1 + 1", "0"));
        // What the bombs built has gone back.
        Assert.InRange(Server.Server.Activity.Existing<Scripts>()!.Engine.HeapBytes, 1, Scripts.HeapLimit / 4);
    }

    [Fact]
    public async Task Scripts_have_redis_s_cjson_cmsgpack_and_bit_libraries()
    {
        await using var c = await Server.ConnectRespAsync();
        Assert.Equal("$[1,2,{\"a\":3}]", await c.AskAsync("EVAL", "return cjson.encode({1,2,{a=3}})", "0"));
        Assert.Equal(":1", await c.AskAsync("EVAL", "return cjson.decode('[1,\"x\",{\"k\":[true,null]}]')[3].k[1]",
            "0"));
        // The bytes Redis 7.0.15 gives for the same call (checked side by side).
        await c.SendAsync(RespConnection.Request("EVAL", "return cmsgpack.pack({1,2,3}, 'abc', -5, 70000, {x=true})",
            "0"));
        Assert.Equal("93010203a3616263fbce0001117081a178c3", Convert.ToHexStringLower(await c.ReadBulkAsync()));
        Assert.Equal("*6[*3[:1,:2,:3],$abc,:-5,:70000,:1,*0[]]", await c.AskAsync("EVAL",
            "return {cmsgpack.unpack(cmsgpack.pack({1,2,3}, 'abc', -5, 70000, 1.5, {x=1}))}", "0"));
        Assert.Equal("*5[:15,:-1,:-2147483648,:-4,$000000ff]", await c.AskAsync("EVAL",
            "return {bit.band(0xff, 0x0f), bit.bnot(0), bit.lshift(1, 31), bit.arshift(-8, 1), bit.tohex(255)}", "0"));
        Assert.StartsWith("-ERR", await c.AskAsync("EVAL", "cjson.encode = nil", "0"));
    }
}

public class ScriptStepTests
{
    /// <summary>Waits until the server runs a script (one that never ends by itself, in these tests).</summary>
    private static async Task UntilAScriptRunsAsync(InProcessServer server)
    {
        while (server.Server.Activity.Existing<Scripts>() is not { Running: true }) await Task.Yield();
    }

    [Fact]
    public async Task A_reply_past_the_clients_budget_closes_its_connection_and_the_server_goes_on()
    {
        await using var server = InProcessServer.Start("--resp-port", "0", "--max-client-memory", "2mb");
        await using var greedy = await server.ConnectRespAsync();
        await greedy.SendAsync(RespConnection.Request("EVAL",
            "local t = {} for i = 1, 200000 do t[i] = 'twenty bytes of text' end return t", "0"));
        Assert.True(await greedy.ClosedByServerAsync());
        await using var other = await server.ConnectRespAsync();
        Assert.Equal(":3", await other.AskAsync("EVAL", "return 3", "0"));
    }

    [Fact]
    public async Task A_first_line_declares_flags_that_the_script_is_held_to()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        Assert.Equal("-ERR Unexpected engine in script shebang: #!python",
            await c.AskAsync("EVAL", "#!python\nreturn 1", "0"));
        Assert.Equal("-ERR Unknown lua shebang option: badger=data", await c.AskAsync("EVAL",
            "#!lua badger=data\nreturn 1", "0"));
        Assert.Equal("-ERR Unexpected flag in script shebang: what?", await c.AskAsync("EVAL",
            "#!lua flags=allow-oom,what?\nreturn 1", "0"));
        // The line goes before compiling; its line feed stays, and so do the user's line numbers.
        Assert.Equal(":1", await c.AskAsync("EVAL", "#!lua\nreturn 1", "0"));
        Assert.StartsWith("-ERR user_script:3: Script attempted to access nonexistent global variable 'nope'",
            await c.AskAsync("EVAL", "#!lua\n\nreturn nope", "0"));
        // no-writes is EVAL_RO, for EVALSHA too.
        var readOnly = (await c.AskAsync("SCRIPT", "LOAD",
            "#!lua flags=no-writes\nreturn redis.call('set', 'x', 1)"))[1..];
        Assert.Equal("-ERR Write commands are not allowed from read-only scripts.", await c.AskAsync("EVALSHA",
            readOnly, "0"));
        // A full store: a declared script without allow-oom does not start; no-writes, allow-oom or none do.
        Assert.Equal("+OK", await c.AskAsync("CONFIG", "SET", "maxmemory", "1"));
        Assert.Equal("-OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'",
            await c.AskAsync("EVAL", "#!lua flags=\nreturn 1", "0"));
        Assert.Equal(":2", await c.AskAsync("EVAL", "#!lua flags=no-writes\nreturn 2", "0"));
        Assert.Equal(":3", await c.AskAsync("EVAL", "#!lua flags=allow-oom\nreturn 3", "0"));
        Assert.Equal(":4", await c.AskAsync("EVAL", "return 4", "0"));
    }

    [Theory]
    [MemberData(nameof(Models.All), MemberType = typeof(Models))]
    public async Task A_script_is_one_step_a_concurrent_reader_never_sees_half_of_it(string model)
    {
        await using var server = InProcessServer.Start("--resp-port", "0", "--threading", model);
        await using var writer = await server.ConnectRespAsync();
        await using var reader = await server.ConnectRespAsync();
        // Some work between the two writes, so that a reader let in between would meet them often.
        const string Both = "redis.call('incr', KEYS[1]) for i = 1, 20000 do end return redis.call('incr', KEYS[2])";
        var writing = Task.Run(async () =>
        {
            for (var i = 0; i < 500; i++) await writer.AskAsync("EVAL", Both, "2", "step-x", "step-y");
        });
        var torn = new List<string>();
        while (!writing.IsCompleted)
        {
            var pair = await reader.AskAsync("MGET", "step-x", "step-y");
            var values = pair.Split(',');
            if (values.Length == 2 && values[0].TrimStart('*', '2', '[') != values[1].TrimEnd(']')) torn.Add(pair);
        }
        await writing;
        Assert.Empty(torn);
        Assert.Equal("*2[$500,$500]", await reader.AskAsync("MGET", "step-x", "step-y"));
    }

    [Theory]
    [MemberData(nameof(Models.All), MemberType = typeof(Models))]
    public async Task A_script_queued_in_multi_runs_in_exec_s_step_in_its_place(string model)
    {
        await using var server = InProcessServer.Start("--resp-port", "0", "--threading", model);
        await using var c = await server.ConnectRespAsync();
        const string Incr = "return redis.call('incr', KEYS[1])";
        var sha = (await c.AskAsync("SCRIPT", "LOAD", Incr))[1..];
        // Sent at once, as redis-cli pipes them: on an event loop, all of them are served in the loop's turn.
        await c.SendAsync([.. RespConnection.Request("MULTI"), .. RespConnection.Request("SET", "in-multi", "1"),
            .. RespConnection.Request("EVAL", Incr, "1", "in-multi"),
            .. RespConnection.Request("EVALSHA", sha, "1", "in-multi"),
            .. RespConnection.Request("EVAL", "return redis.call('nosuch')", "0"),
            .. RespConnection.Request("GET", "in-multi"), .. RespConnection.Request("EXEC")]);
        Assert.Equal("+OK", await c.ReadAsync());
        for (var i = 0; i < 5; i++) Assert.Equal("+QUEUED", await c.ReadAsync());
        Assert.Equal("*5[+OK,:2,:3,-ERR Unknown Redis command called from script,$3]", await c.ReadAsync());
    }

    [Theory]
    [MemberData(nameof(Models.All), MemberType = typeof(Models))]
    public async Task A_script_sent_as_a_connection_s_first_bytes_leaves_the_server_accepting_and_killable(
        string model)
    {
        await using var server = InProcessServer.Start("--resp-port", "0", "--threading", model,
            "--script-time-limit", "100");
        // The request goes with the connection, so that it may be there when the connection is accepted: a thread
        // that served it where it accepted would accept nobody else until the script ended. (The race needs load to
        // show; by hand it did, after 200 clients' EVALSHAs.)
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream,
            System.Net.Sockets.ProtocolType.Tcp);
        await socket.ConnectAsync(System.Net.IPAddress.Loopback, server.RespPort);
        await socket.SendAsync(RespConnection.Request("EVAL", "while true do end", "0"));
        await UntilAScriptRunsAsync(server);
        await using var other = await server.ConnectRespAsync();
        Assert.Equal("+OK", await other.AskAsync("SCRIPT", "KILL"));
        var reply = new byte[200];
        var read = await socket.ReceiveAsync(reply);
        Assert.StartsWith("-ERR Script killed", System.Text.Encoding.UTF8.GetString(reply, 0, read));
    }

    [Theory]
    [MemberData(nameof(Models.All), MemberType = typeof(Models))]
    public async Task A_script_past_its_limit_makes_others_busy_and_script_kill_stops_it_and_undoes_its_writes(
        string model)
    {
        await using var server = InProcessServer.Start("--resp-port", "0", "--threading", model,
            "--script-time-limit", "100");
        await using var runner = await server.ConnectRespAsync();
        await using var other = await server.ConnectRespAsync();
        await using var line = await server.ConnectAsync();
        Assert.Equal("+OK", await other.AskAsync("SET", "kill-kept", "before"));
        await runner.SendAsync(RespConnection.Request("EVAL",
            "redis.call('set', 'kill-kept', 'changed') redis.call('set', 'kill-new', 'x') " +
            "while true do pcall(function() while true do end end) end", "0"));
        // The script never ends by itself: once it runs, every request waits for it, then is told it is busy.
        await UntilAScriptRunsAsync(server);
        Assert.Equal("-BUSY " + RespCommands.Busy, await other.AskAsync("GET", "kill-kept"));
        Assert.Equal("ERROR: " + Errors.Busy, $"ERROR: {Assert.IsType<Reply.Error>(await line.AskAsync("ping"))
            .Message}");
        Assert.Equal("+OK", await other.AskAsync("SCRIPT", "KILL"));
        Assert.StartsWith("-ERR Script killed by user with SCRIPT KILL", await runner.ReadAsync());
        Assert.Equal("$before", await other.AskAsync("GET", "kill-kept"));
        Assert.Equal(":0", await other.AskAsync("EXISTS", "kill-new"));
        Assert.Equal(":1", await runner.AskAsync("EVAL", "return 1", "0"));
    }

    [Theory]
    [InlineData("coroutine.wrap(function() while true do end end)()")]
    [InlineData("local co = coroutine.create(function() while true do end end) coroutine.resume(co) return 'ended'")]
    [InlineData("coroutine.wrap(function() coroutine.wrap(function() while true do end end)() end)()")]
    [InlineData("pcall(function() while true do end end) return 'caught'")]
    public async Task A_script_looping_inside_a_coroutine_or_a_pcall_is_stopped_by_script_kill(string loop)
    {
        // A hook belongs to one Lua thread: a coroutine's loop once held the store for ever. A kill's error that
        // the script catches (resume, pcall) still ends it, killed, its writes undone.
        await using var server = InProcessServer.Start("--resp-port", "0", "--script-time-limit", "100");
        await using var runner = await server.ConnectRespAsync();
        await using var other = await server.ConnectRespAsync();
        await runner.SendAsync(RespConnection.Request("EVAL", "redis.call('set', 'co-new', 'x') " + loop, "0"));
        await UntilAScriptRunsAsync(server);
        Assert.Equal("+OK", await other.AskAsync("SCRIPT", "KILL"));
        Assert.StartsWith("-ERR Script killed by user", await runner.ReadAsync());
        Assert.Equal(":0", await other.AskAsync("EXISTS", "co-new"));
        Assert.Equal("*2[:1,:2]", await runner.AskAsync("EVAL",
            "local co = coroutine.wrap(function(a) local b = coroutine.yield(a) return b end) return {co(1), co(2)}",
            "0"));
    }

    [Fact]
    public async Task The_words_of_one_large_call_are_not_held_after_it()
    {
        // ARGV is one table refilled for every script; a table keeps its size, so one far larger than a run needs
        // is replaced rather than refilled with nils.
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        async Task<long> HeapAsync()
        {
            Assert.Equal("+OK", await c.AskAsync("SCRIPT", "FLUSH"));
            var line = (await c.AskAsync("INFO", "memory")).Split("\r\n")
                .Single(l => l.StartsWith("used_memory_lua:"));
            return long.Parse(line["used_memory_lua:".Length..]);
        }
        Assert.Equal(":0", await c.AskAsync("EVAL", "return #ARGV", "0"));
        var before = await HeapAsync();
        Assert.Equal(":50000", await c.AskAsync(["EVAL", "return #ARGV", "0",
            .. Enumerable.Range(0, 50_000).Select(i => $"word-{i}")]));
        Assert.Equal(":0", await c.AskAsync("EVAL", "return #ARGV", "0"));
        var after = await HeapAsync();
        // A table of 50,000 slots is 800 KB; Lua's own table of interned strings keeps a part of its growth (about a
        // quarter of a megabyte) whatever KV does.
        Assert.True(after - before < 640_000, $"the Lua heap held {after - before} bytes more after the large call");
    }

    [Fact]
    public async Task A_transaction_told_busy_is_refused_whole_and_lua_time_limit_sets_the_limit()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var runner = await server.ConnectRespAsync();
        await using var other = await server.ConnectRespAsync();
        await using var config = await server.ConnectRespAsync();
        Assert.Equal("+OK", await config.AskAsync("CONFIG", "SET", "lua-time-limit", "50"));
        Assert.Equal("*2[$busy-reply-threshold,$50]", await config.AskAsync("CONFIG", "GET", "busy-reply-threshold"));
        Assert.Equal("+OK", await other.AskAsync("SET", "busy-x", "1"));
        Assert.Equal("+OK", await other.AskAsync("MULTI"));
        Assert.Equal("+QUEUED", await other.AskAsync("INCR", "busy-x"));
        await runner.SendAsync(RespConnection.Request("EVAL", "while true do end", "0"));
        await UntilAScriptRunsAsync(server);
        try
        {
            await AssertBusyTransactionsAsync(server, other);
        }
        finally
        {
            // Killed whatever happened above, so that a failure ends the test instead of leaving the server busy.
            await config.AskAsync("SCRIPT", "KILL");
        }
        Assert.StartsWith("-ERR Script killed", await runner.ReadAsync());
        Assert.Equal("$1", await other.AskAsync("GET", "busy-x"));
        Assert.Equal("-ERR EXEC without MULTI", await other.AskAsync("EXEC"));
        Assert.StartsWith("-ERR CONFIG SET failed (possibly related to argument 'lua-time-limit')",
            await config.AskAsync("CONFIG", "SET", "lua-time-limit", "0"));
    }

    private static async Task AssertBusyTransactionsAsync(InProcessServer server, RespConnection other)
    {
        // MULTI is let through, as Redis lets it; a command told BUSY refuses its transaction, EXEC discards it.
        Assert.Equal("-BUSY " + RespCommands.Busy, await other.AskAsync("INCR", "busy-x"));
        Assert.Equal("-EXECABORT Transaction discarded because of: BUSY " + RespCommands.Busy,
            await other.AskAsync("EXEC"));
        await using var late = await server.ConnectRespAsync();
        Assert.Equal("+OK", await late.AskAsync("MULTI"));
        Assert.Equal("-BUSY " + RespCommands.Busy, await late.AskAsync("INCR", "busy-x"));
        Assert.Equal("+OK", await late.AskAsync("DISCARD"));
    }
}
