// tests/TerminalTests.cs: the client at a terminal, as a person uses it: keys go in as a terminal sends them
// (on a pseudo-terminal made by `script`), and what counts is what the SERVER stored, read over a raw
// connection, as well as what the screen showed.

using KV;
using Xunit;

public class TerminalTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private const string Left = "\e[D", AppLeft = "\eOD", Home = "\e[H", AppEnd = "\eOF", Up = "\e[A", Delete = "\e[3~";
    private const string CtrlA = "\x01", CtrlE = "\x05", CtrlW = "\x17", CtrlU = "\x15", CtrlK = "\x0b", CtrlC = "\x03",
        CtrlD = "\x04";
    private const string Backspace = "\x7f", Tab = "\t", Enter = "\r";

    [Fact]
    public async Task Editing_keys_change_the_line_and_the_server_stores_exactly_what_was_shown()
    {
        await using var terminal = await TerminalSession.StartAsync(shared.Server.Port);
        string[] typed =
        [
            "set t-left abc" + Left + Left + "X",
            "set t-app abc" + AppLeft + AppLeft + Home + AppEnd + "Z",
            "set t-ctrl abc" + CtrlA + CtrlE + "d",
            "set t-word one two" + CtrlW + "three",
            "garbage" + CtrlU + "set t-start fresh",
            "set t-end keepcut" + Left + Left + Left + CtrlK,
            "set t-emoji a😀" + Backspace + "b",
            "set t-delete xabc" + Left + Left + Left + Left + Delete,
            "set t-tab a" + Tab + "b",
            "se" + Tab + " t-complete v",
            "set t-escape a\e\x07\x01" + CtrlE + "b",
        ];
        for (var i = 0; i < typed.Length; i++)
        {
            await terminal.ExpectPromptAsync(i + 1);
            await terminal.TypeAsync(typed[i] + Enter);
        }
        await terminal.ExpectPromptAsync(typed.Length + 1);

        Assert.Equal("aXbc", await shared.Server.StoredAsync("t-left"));
        Assert.Equal("abcZ", await shared.Server.StoredAsync("t-app"));
        Assert.Equal("abcd", await shared.Server.StoredAsync("t-ctrl"));
        Assert.Equal("one three", await shared.Server.StoredAsync("t-word"));
        Assert.Equal("fresh", await shared.Server.StoredAsync("t-start"));
        Assert.Equal("keep", await shared.Server.StoredAsync("t-end"));
        Assert.Equal("ab", await shared.Server.StoredAsync("t-emoji"));
        Assert.Equal("abc", await shared.Server.StoredAsync("t-delete"));
        Assert.Equal("a\tb", await shared.Server.StoredAsync("t-tab"));
        Assert.Equal("v", await shared.Server.StoredAsync("t-complete"));
        Assert.Equal("ab", await shared.Server.StoredAsync("t-escape"));
    }

    [Fact]
    public async Task Monitor_streams_other_clients_requests_quoted_where_needed_until_ctrl_c()
    {
        await using var terminal = await TerminalSession.StartAsync(shared.Server.Port);
        await terminal.ExpectPromptAsync(1);
        await terminal.TypeAsync("monitor" + Enter);
        await terminal.ExpectAsync("\nOK");
        await using (var other = await shared.Server.ConnectAsync())
            Assert.IsType<Reply.Ok>(await other.AskAsync("set t-watched \e[31mred"));
        await terminal.ExpectAsync("] set t-watched \"\\x1b[31mred\"");
        await terminal.TypeAsync(CtrlC);
        await terminal.ExpectPromptAsync(2);
        await terminal.TypeAsync("incr t-counted" + Enter);
        await terminal.ExpectPromptAsync(3);
        Assert.Equal("1", await shared.Server.StoredAsync("t-counted"));
    }

    [Fact]
    public async Task Subscribe_prints_messages_escaped_until_ctrl_c_then_unsubscribes_and_the_prompt_returns()
    {
        await using var terminal = await TerminalSession.StartAsync(shared.Server.Port);
        await terminal.ExpectPromptAsync(1);
        await terminal.TypeAsync("subscribe t-news" + Enter);
        await terminal.ExpectAsync("OK 1");
        await using (var publisher = await shared.Server.ConnectAsync())
            Assert.Equal(new Reply.Counted(1), await publisher.AskAsync("publish t-news \e[31mred"));
        // The channel (dimmed when the terminal has colour), then the message escaped as `get` escapes a value.
        await terminal.ExpectAsync(" \"\\x1b[31mred\"");
        await terminal.TypeAsync(CtrlC);
        await terminal.ExpectPromptAsync(2);
        await using (var publisher = await shared.Server.ConnectAsync())
            Assert.Equal(new Reply.Counted(0), await publisher.AskAsync("publish t-news nobody listens"));
    }

    [Fact]
    public async Task A_resize_redraws_the_line_being_edited_without_waiting_for_a_key()
    {
        await using var terminal = await TerminalSession.StartAsync(shared.Server.Port);
        await terminal.ExpectPromptAsync(1);
        const string typed = "set resized vvvvvvvvvv";
        await terminal.TypeAsync(typed);
        // One redraw of the row for the prompt and one for each key typed.
        await terminal.ExpectAsync("\rKVClient> ", typed.Length + 1);
        await terminal.ResizeAsync(40);
        await terminal.ExpectAsync("\rKVClient> ", typed.Length + 2);
        await terminal.TypeAsync("\r");
        await terminal.ExpectPromptAsync(2);
        Assert.Equal("vvvvvvvvvv", await shared.Server.StoredAsync("resized"));
    }

    [Fact]
    public async Task A_pasted_block_runs_each_line_in_order_and_up_recalls_the_last()
    {
        await using var terminal = await TerminalSession.StartAsync(shared.Server.Port);
        await terminal.ExpectPromptAsync(1);
        await terminal.TypeAsync("set t-paste one\nset t-paste two\nset t-paste three\n");
        await terminal.ExpectPromptAsync(4);
        Assert.Equal("three", await shared.Server.StoredAsync("t-paste"));
        await terminal.TypeAsync(Up + "!" + Enter);
        await terminal.ExpectPromptAsync(5);
        Assert.Equal("three!", await shared.Server.StoredAsync("t-paste"));
    }

    [Fact]
    public async Task History_is_written_without_blanks_repeats_or_passwords_and_read_by_the_next_run()
    {
        var file = Path.Combine(Path.GetTempPath(), $"kv-history-{Guid.NewGuid():N}");
        try
        {
            await using (var first = await TerminalSession.StartAsync(shared.Server.Port, ("KVCLIENT_HISTFILE", file)))
            {
                foreach (var (line, i) in new[] { "ping", "ping", "", "auth secret", "set t-history kept" }.Select((l,
                    i) => (l, i)))
                {
                    await first.ExpectPromptAsync(i + 1);
                    await first.TypeAsync(line + Enter);
                }
                await first.ExpectPromptAsync(6);
                await first.TypeAsync(CtrlD);
                await first.WaitForExitAsync();
            }
            Assert.Equal(["ping", "set t-history kept"], File.ReadAllLines(file));

            await using var second = await TerminalSession.StartAsync(shared.Server.Port, ("KVCLIENT_HISTFILE", file));
            await second.ExpectPromptAsync(1);
            await second.TypeAsync(Up + CtrlW + "again" + Enter);
            await second.ExpectPromptAsync(2);
            Assert.Equal("again", await shared.Server.StoredAsync("t-history"));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Ctrl_d_on_a_line_does_not_send_it_and_ctrl_c_ends_the_session_on_a_new_row()
    {
        await using var terminal = await TerminalSession.StartAsync(shared.Server.Port);
        await terminal.ExpectPromptAsync(1);
        await terminal.TypeAsync("set t-ctrl-d sent" + CtrlD + CtrlA + CtrlD + CtrlD + CtrlD + "set" + Enter);
        await terminal.ExpectPromptAsync(2);
        Assert.Equal("sent", await shared.Server.StoredAsync("t-ctrl-d"));
        await terminal.TypeAsync("set t-ctrl-c never" + CtrlC);
        await terminal.WaitForExitAsync();
        Assert.Equal(0, terminal.ExitCode);
        Assert.Null(await shared.Server.StoredAsync("t-ctrl-c"));
        Assert.EndsWith("\r\n", terminal.Shown());
    }

    [Fact]
    public async Task A_value_holding_escape_sequences_is_shown_escaped_so_the_title_and_screen_are_untouched()
    {
        await using (var writer = await shared.Server.ConnectAsync())
            Assert.IsType<Reply.Ok>(await writer.AskAsync("set t-evil before\e]0;PWNED-TITLE\aafter\e[2J"));
        await using var terminal = await TerminalSession.StartAsync(shared.Server.Port);
        await terminal.ExpectPromptAsync(1);
        await terminal.TypeAsync("get t-evil" + Enter);
        await terminal.ExpectAsync("\"before\\x1b]0;PWNED-TITLE\\x07after\\x1b[2J\"");
        Assert.DoesNotContain("\e]0;", terminal.Shown());
        Assert.DoesNotContain("\e[2J", terminal.Shown());
    }

    [Fact]
    public async Task The_command_is_coloured_and_hinted_on_a_terminal_and_never_with_no_color()
    {
        await using (var coloured = await TerminalSession.StartAsync(shared.Server.Port))
        {
            await coloured.ExpectPromptAsync(1);
            await coloured.TypeAsync("set ");
            await coloured.ExpectAsync(Terminal.Dim + "KEY VALUE");
            Assert.Contains(Terminal.Green + "set" + Terminal.Reset, coloured.Shown());
        }
        await using var plain = await TerminalSession.StartAsync(shared.Server.Port, ("NO_COLOR", "1"));
        await plain.ExpectPromptAsync(1);
        await plain.TypeAsync("set t-plain v" + Enter);
        await plain.ExpectAsync("OK");
        Assert.DoesNotContain("\e[32m", plain.Shown());
        Assert.DoesNotContain("KEY VALUE", plain.Shown());
    }

    [Fact]
    public async Task The_client_reconnects_to_a_restarted_server_quietly_and_exit_says_bye_while_it_is_down()
    {
        var first = InProcessServer.Start();
        // The client talks through a relay whose port stays the same while the server behind it is replaced.
        await using var relay = new Relay(first.Port);
        var port = relay.Port;
        try
        {
            await using var terminal = await TerminalSession.StartAsync(port);
            await terminal.ExpectAsync($"Connected to KV server 127.0.0.1:{port}. Type 'help' for the commands, " +
                $"'exit' to quit.");
            await terminal.ExpectPromptAsync(1);
            await terminal.TypeAsync("ping" + Enter);
            await terminal.ExpectAsync("PONG");

            await first.DisposeAsync();
            await using (var second = InProcessServer.Start())
            {
                relay.SwitchTo(second.Port);
                await terminal.TypeAsync("ping" + Enter);
                await terminal.ExpectAsync($"(reconnected to 127.0.0.1:{port})");
                await terminal.ExpectAsync("PONG", 2);
                Assert.DoesNotContain("ERROR", terminal.Shown());
            }
            await terminal.ExpectPromptAsync(3);
            await terminal.TypeAsync("exit" + Enter);
            await terminal.WaitForExitAsync();
            Assert.Equal(0, terminal.ExitCode);
            Assert.Contains("BYE", terminal.Shown());
            Assert.DoesNotContain("   at ", terminal.Shown());
        }
        finally
        {
            await first.DisposeAsync();
        }
    }
}
