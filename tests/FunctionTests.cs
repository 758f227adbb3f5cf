// tests/FunctionTests.cs: Redis 7's functions over RESP: FUNCTION LOAD registers a library's functions, FCALL and
// FCALL_RO call them with Redis's checks and errors, FUNCTION LIST, DELETE and FLUSH look after them; a library that
// loops while it loads is stopped, and a function stopped by FUNCTION KILL leaves the interpreter ready for the next.

using KV;
using Xunit;

public class FunctionTests
{
    private const string Counter = """
        #!lua name=counter
        local function bump(keys, args) return redis.call('incrby', keys[1], args[1] or 1) end
        redis.register_function('bump', bump)
        redis.register_function{function_name = 'peek', callback = function(keys) return redis.call('get', keys[1]) end,
            flags = {'no-writes'}, description = 'reads the counter'}
        """;

    [Fact]
    public async Task A_loaded_library_s_functions_run_with_fcall_and_the_libraries_are_listed_replaced_and_deleted()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        Assert.Equal("$counter", await c.AskAsync("FUNCTION", "LOAD", Counter));
        Assert.Equal(":1", await c.AskAsync("FCALL", "bump", "1", "fn-n"));
        Assert.Equal(":6", await c.AskAsync("FCALL", "bump", "1", "fn-n", "5"));
        Assert.Equal("$6", await c.AskAsync("FCALL_RO", "peek", "1", "fn-n"));
        Assert.Equal("-ERR Can not execute a script with write flag using *_ro command.",
            await c.AskAsync("FCALL_RO", "bump", "1", "fn-n"));
        Assert.Equal("-ERR Bad number of keys provided", await c.AskAsync("FCALL", "bump", "x"));
        Assert.Equal("-ERR Function not found", await c.AskAsync("FCALL", "nosuch", "0"));
        var listed = await c.AskAsync("FUNCTION", "LIST", "LIBRARYNAME", "count*");
        Assert.StartsWith("*1[*6[$library_name,$counter,$engine,$LUA,$functions,*2[", listed);
        Assert.Contains("*6[$name,$peek,$description,$reads the counter,$flags,*1[+no-writes]]", listed);
        Assert.Contains("*6[$name,$bump,$description,$nil,$flags,*0[]]", listed);
        Assert.Equal("*0[]", await c.AskAsync("FUNCTION", "LIST", "LIBRARYNAME", "other*"));

        // A library name is loaded once, a function name belongs to one library, and REPLACE swaps a library whole.
        Assert.Equal("-ERR Library 'counter' already exists", await c.AskAsync("FUNCTION", "LOAD", Counter));
        Assert.Equal("-ERR Function bump already exists", await c.AskAsync("FUNCTION", "LOAD",
            "#!lua name=thief\nredis.register_function('bump', function() return 0 end)"));
        Assert.Equal("$counter", await c.AskAsync("FUNCTION", "LOAD", "REPLACE",
            "#!lua name=counter\nredis.register_function('twice', function(keys) return 2 end)"));
        Assert.Equal("-ERR Function not found", await c.AskAsync("FCALL", "bump", "1", "fn-n"));
        Assert.Equal(":2", await c.AskAsync("FCALL", "twice", "0"));
        Assert.Equal("+OK", await c.AskAsync("FUNCTION", "DELETE", "counter"));
        Assert.Equal("-ERR Library not found", await c.AskAsync("FUNCTION", "DELETE", "counter"));
        Assert.Equal("-ERR Function not found", await c.AskAsync("FCALL", "twice", "0"));
        Assert.Equal("$counter", await c.AskAsync("FUNCTION", "LOAD", Counter));
        Assert.Equal("+OK", await c.AskAsync("FUNCTION", "FLUSH"));
        Assert.Equal("*0[]", await c.AskAsync("FUNCTION", "LIST"));
    }

    [Fact]
    public async Task A_library_reaches_only_register_function_while_it_loads_and_its_errors_are_redis_s()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        foreach (var (code, error) in new[]
        {
            ("return 1", "Missing library metadata"),
            ("#!js name=x\nreturn 1", "Engine 'js' not found"),
            ("#!lua\nreturn 1", "Library name was not given"),
            ("#!lua name=x other=y\nreturn 1", "Invalid metadata value given: other=y"),
            ("#!lua name=x-y\nreturn 1", "Library names can only contain letters, numbers, or underscores(_)"),
            ("#!lua name=x\nlocal a = 1", "No functions registered"),
            ("#!lua name=x\nredis.register_function('f', 1)",
                "Error registering functions: second argument to redis.register_function must be a function"),
            ("#!lua name=x\nredis.register_function{function_name='f', callback=function() end, flags={'fast'}}",
                "Error registering functions: unknown flag given"),
            // The libraries and redis.call are for the functions, when they run, not for the load.
            ("#!lua name=x\nlocal s = string.len('a')", "Error registering functions: user_function:2: Script " +
                "attempted to access nonexistent global variable 'string'"),
            ("#!lua name=x\nredis.call('set', 'k', 'v')", "Error registering functions: user_function:2: attempt to " +
                "call a nil value (field 'call')"),
            ("#!lua name=x\nreturn (", "Error compiling function: user_function:2:"),
        })
            Assert.StartsWith("-ERR " + error, await c.AskAsync("FUNCTION", "LOAD", code));
        // At run time a function sees every global, and writes none; a captured register_function refuses.
        Assert.Equal("$g", await c.AskAsync("FUNCTION", "LOAD", """
            #!lua name=g
            local register = redis.register_function
            register('len', function(keys, args) return string.len(args[1]) end)
            register('setter', function() leaked = 1 end)
            register('later', function() register('again', function() end) end)
            """));
        Assert.Equal(":3", await c.AskAsync("FCALL", "len", "0", "abc"));
        Assert.StartsWith("-ERR user_function:4: Attempt to modify a readonly table: script tried to set global " +
            "'leaked' script: setter, on @user_function", await c.AskAsync("FCALL", "setter", "0"));
        Assert.StartsWith("-ERR redis.register_function can only be called on FUNCTION LOAD command",
            await c.AskAsync("FCALL", "later", "0"));
        Assert.Equal("-ERR This Redis command is not allowed from script", await c.AskAsync("EVAL",
            "return redis.call('function', 'flush')", "0"));
    }

    [Fact]
    public async Task A_library_looping_while_it_loads_is_stopped_and_a_killed_function_leaves_the_next_load_working()
    {
        await using var server = InProcessServer.Start("--resp-port", "0", "--script-time-limit", "100");
        await using var runner = await server.ConnectRespAsync();
        await using var other = await server.ConnectRespAsync();
        Assert.Equal("-ERR Error registering functions: FUNCTION LOAD timeout", await other.AskAsync("FUNCTION",
            "LOAD", "#!lua name=spin\nwhile true do end"));
        Assert.Equal("$loop", await other.AskAsync("FUNCTION", "LOAD",
            "#!lua name=loop\nredis.register_function('loop', function() while true do end end)"));
        await runner.SendAsync(RespConnection.Request("FCALL", "loop", "0"));
        while (server.Server.Activity.Existing<Scripts>() is not { Running: true }) await Task.Yield();
        try
        {
            Assert.StartsWith("-BUSY", await other.AskAsync("FUNCTION", "LOAD", Counter));
            Assert.StartsWith("*4[$running_script,*2[$duration_ms,:", await other.AskAsync("FUNCTION", "STATS"));
        }
        finally
        {
            Assert.Equal("+OK", await other.AskAsync("FUNCTION", "KILL"));
        }
        Assert.StartsWith("-ERR Script killed by user", await runner.ReadAsync());
        // The interpreter was left checking for a kill at every line: loading a library must not trip over it.
        Assert.Equal("$loop", await other.AskAsync("FUNCTION", "LOAD", "REPLACE",
            "#!lua name=loop\nredis.register_function('loop', function() return 'done' end)"));
        Assert.Equal("$done", await runner.AskAsync("FCALL", "loop", "0"));
        Assert.Equal("-NOTBUSY No scripts in execution right now.", await other.AskAsync("FUNCTION", "KILL"));
    }
}
