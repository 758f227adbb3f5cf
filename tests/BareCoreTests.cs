// tests/BareCoreTests.cs: the core alone, as the layout promises: KVServer.cs with its feature folders' includes
// left out (Programs.BareCore) builds, serves KV's line protocol with the pool, and refuses by name what only a
// feature brings (Redis's protocol, the other threading models).

using KV;
using Xunit;

public sealed class BareCoreTests
{
    [Fact]
    public async Task The_core_without_its_feature_folders_builds_and_serves_the_line_protocol()
    {
        await using var server = await ServerProcess.StartProgramAsync(Programs.BareCore, "0", "--bind", "127.0.0.1");
        Assert.Contains("threading pool", server.Output);
        await using var client = await server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await client.AskAsync("set greeting hello world"));
        Assert.Equal(new Reply.Value("hello world"), await client.AskAsync("get greeting"));
        Assert.Equal(new Reply.Value("2"), await client.AskAsync("incr visits 2"));
        Assert.Equal(["greeting", "visits"], Assert.IsType<Reply.Keys>(await client.AskAsync("list")).Names);
        // A row of the one command table that only a feature answers: the client knows it, this server says why not.
        Assert.Equal(new Reply.Error(Errors.NotBuiltIn(Commands.Of(CommandKind.Monitor))),
            await client.AskAsync("monitor"));
        Assert.Equal(new Reply.Error(Errors.NotBuiltIn(Commands.Of(CommandKind.Publish))),
            await client.AskAsync("publish c m"));
        Assert.DoesNotContain(Assert.IsType<Reply.Stats>(await client.AskAsync("stats")).Figures,
            s => s.Name.StartsWith("pubsub"));
        Assert.Equal(new Reply.Value("hello world"), await client.AskAsync("get greeting"));
        Assert.IsType<Reply.Bye>(await client.AskAsync("exit"));
    }

    [Theory]
    [InlineData("--resp-port", "unknown option '--resp-port'")]
    [InlineData("--threading", "invalid value 'loops' for --threading (expected pool)")]
    public async Task The_core_refuses_by_name_an_option_only_a_feature_serves(string option, string error)
    {
        string[] value = option == "--resp-port" ? ["0"] : ["loops"];
        await using var server = await ServerProcess.LaunchProgramAsync(Programs.BareCore, ["0", option, .. value]);
        Assert.Equal(2, await server.ExitCodeAsync(Programs.Patience));
        Assert.Contains(error, server.Output);
    }
}
