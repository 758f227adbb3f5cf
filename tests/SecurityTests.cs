// tests/SecurityTests.cs: the password, on both protocols and through every client: KV's own, the RESP
// tools, StackExchange.Redis. Each test does what the password prevents, and then what it allows.

using KV;
using StackExchange.Redis;
using Xunit;

public class PasswordTests : IAsyncLifetime
{
    private const string Password = "open sesame";
    private InProcessServer Server { get; set; } = null!;

    public ValueTask InitializeAsync()
    {
        Server = InProcessServer.Start("--resp-port", "0", "--password", Password);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => Server.DisposeAsync();

    [Fact]
    public async Task Before_auth_only_auth_help_ping_and_exit_are_served_and_a_wrong_password_is_refused()
    {
        await using var c = await Server.ConnectAsync();
        foreach (var guarded in new[] { "get k", "set k v", "del k", "list", "list --json" })
            Assert.Equal(Errors.AuthenticationRequired, Assert.IsType<Reply.Error>(await c.AskAsync(guarded)).Message);
        Assert.IsType<Reply.Pong>(await c.AskAsync("ping"));
        Assert.IsType<Reply.Help>(await c.AskAsync("help auth"));
        Assert.Equal(Errors.WrongPassword, Assert.IsType<Reply.Error>(await c.AskAsync("auth open")).Message);
        Assert.Equal(Errors.WrongPassword,
            Assert.IsType<Reply.Error>(await c.AskAsync("auth " + Password + " ")).Message);
        Assert.IsType<Reply.Ok>(await c.AskAsync("auth " + Password));
        Assert.IsType<Reply.Ok>(await c.AskAsync("set k v"));
        Assert.Equal("v", Assert.IsType<Reply.Value>(await c.AskAsync("get k")).Text);
        await using var other = await Server.ConnectAsync();
        Assert.Equal(Errors.AuthenticationRequired, Assert.IsType<Reply.Error>(await other.AskAsync("get k")).Message);
        Assert.IsType<Reply.Bye>(await other.AskAsync("exit"));
    }

    [Fact]
    public async Task Resp_clients_get_noauth_then_auth_in_either_form_and_hello_with_auth()
    {
        await using var c = await Server.ConnectRespAsync();
        Assert.Equal("-NOAUTH Authentication required.", await c.AskAsync("get", "k"));
        Assert.Equal("+PONG", await c.AskAsync("ping"));
        Assert.StartsWith("-NOAUTH HELLO must be called with the client already authenticated",
            await c.AskAsync("hello", "2"));
        Assert.Equal("-WRONGPASS invalid username-password pair or user is disabled.", await c.AskAsync("auth",
            "nope"));
        Assert.Equal("-WRONGPASS invalid username-password pair or user is disabled.", await c.AskAsync("auth",
            "someone", Password));
        Assert.Equal("+OK", await c.AskAsync("AUTH", Password));
        Assert.Equal("+OK", await c.AskAsync("set", "r-auth", "v"));
        await using var hello = await Server.ConnectRespAsync();
        Assert.StartsWith("*14[$server,$kv,$version", await hello.AskAsync("HELLO", "2", "AUTH", "default", Password,
            "SETNAME", "me"));
        Assert.Equal("$v", await hello.AskAsync("get", "r-auth"));
    }

    [Fact]
    public async Task Stackexchange_redis_and_redis_cli_connect_with_the_password()
    {
        await using var redis =
            await RedisClient.ConnectAsync(Server.RespPort, $",password={Password}");
        var db = redis.GetDatabase();
        Assert.True(await db.StringSetAsync("se-auth", "yes"));
        Assert.Equal("yes", (string?)await db.StringGetAsync("se-auth"));
        Assert.SkipUnless(Tool.Installed("redis-cli"), "redis-cli is not installed (apt-get install redis-tools)");
        Assert.Equal("yes", await Tool.RunAsync("redis-cli", "-p", Server.RespPort.ToString(), "-a", Password,
            "--no-auth-warning", "get", "se-auth"));
        Assert.StartsWith("NOAUTH", await Tool.RunAsync("redis-cli", "-p", Server.RespPort.ToString(), "get",
            "se-auth"));
    }

    [Fact]
    public async Task The_client_gives_kv_password_after_every_connect_and_a_wrong_one_exits_1()
    {
        // The client talks through a relay whose port stays the same while the server behind it is replaced.
        await using var relay = new Relay(Server.Port);
        var port = relay.Port.ToString();
        await using var client = await ClientProcess.StartWithAsync([("KV_PASSWORD", Password)], "127.0.0.1", port);
        await client.SendAsync("set client-auth one\n");
        Assert.Equal("OK", await client.ReadLineAsync());
        await Server.DisposeAsync();
        await using (var restarted = InProcessServer.Start("--password", Password))
        {
            relay.SwitchTo(restarted.Port);
            await client.SendAsync("set client-auth two\n");
            Assert.Equal("OK", await client.ReadLineAsync());
            client.Process.StandardInput.Close();
            Assert.Equal((0, $"(reconnected to 127.0.0.1:{port})\n"), await client.FinishAsync());

            var wrong = await ClientProcess.RunWithAsync([("KV_PASSWORD", "guess")], "ping\n", "127.0.0.1", port);
            Assert.Equal((1, $"ERROR: {Errors.WrongPassword} (the password in KV_PASSWORD)\n"), wrong);
            var none = await ClientProcess.RunAsync("get client-auth\n", "127.0.0.1", port);
            Assert.Equal((0, $"ERROR: {Errors.AuthenticationRequired}\n"), none);
        }
    }

    [Fact]
    public async Task Without_a_password_auth_says_there_is_none()
    {
        await using var open = InProcessServer.Start("--resp-port", "0");
        await using var c = await open.ConnectAsync();
        Assert.Equal(Errors.NoPassword, Assert.IsType<Reply.Error>(await c.AskAsync("auth x")).Message);
        await using var r = await open.ConnectRespAsync();
        Assert.StartsWith("-ERR AUTH <password> called without any password configured", await r.AskAsync("auth", "x"));
    }
}
