// tests/LineEditorTests.cs: unit tests of the client's line editor parts: the edit buffer, the history and its
// file, completion and hints from the command table, the editor fed with keys, and how text shows on a terminal.

using System.Text;
using KV;
using Xunit;

public class EditBufferTests
{
    private static EditBuffer With(string text, int? cursor = null)
    {
        var line = new EditBuffer();
        line.Set(text, cursor);
        return line;
    }

    [Fact]
    public void Backspace_and_delete_remove_a_whole_emoji_or_accented_letter()
    {
        var line = With("a😀");
        line.Backspace();
        Assert.Equal("a", line.Text);
        line = With("e\u0301x", 0);
        line.Delete();
        Assert.Equal("x", line.Text);
        line = With("👨‍👩‍👧b");
        line.Left();
        line.Left();
        Assert.Equal(0, line.Cursor);
    }

    [Theory]
    [InlineData("set k one two", 13, "W", "set k one ", 10)]
    [InlineData("set k one two  ", 15, "W", "set k one ", 10)]
    [InlineData("set k abc", 7, "U", "bc", 0)]
    [InlineData("set k abc", 7, "K", "set k a", 7)]
    [InlineData("abc", 0, "W", "abc", 0)]
    public void Word_start_and_end_deletions(string text, int cursor, string key, string after, int cursorAfter)
    {
        var line = With(text, cursor);
        switch (key)
        {
            case "W": line.DeleteWordBefore(); break;
            case "U": line.DeleteToStart(); break;
            case "K": line.DeleteToEnd(); break;
        }
        Assert.Equal(after, line.Text);
        Assert.Equal(cursorAfter, line.Cursor);
    }

    [Fact]
    public void Insert_goes_at_the_cursor_and_moves_it()
    {
        var line = With("ac", 1);
        line.Insert("b");
        Assert.Equal(("abc", 2), (line.Text, line.Cursor));
        line.Home();
        line.Insert(">");
        line.End();
        line.Insert("<");
        Assert.Equal(">abc<", line.Text);
    }
}

public class HistoryTests
{
    private static string TemporaryPath() => Path.Combine(Path.GetTempPath(), $"kv-history-test-{Guid.NewGuid():N}");

    [Fact]
    public void Blank_lines_repeats_and_passwords_are_not_kept()
    {
        var history = History.Open(null);
        foreach (var line in new[] { "ping", "ping", "", "   ", "auth secret", "AUTH other", "get k",
            "ping" }) history.Add(line);
        Assert.Equal(["ping", "get k", "ping"], history.Entries);
    }

    [Fact]
    public void Up_and_down_walk_back_and_return_to_the_line_being_typed()
    {
        var history = History.Open(null);
        history.Add("one");
        history.Add("two");
        Assert.Equal("two", history.Previous("draft"));
        Assert.Equal("one", history.Previous("two"));
        Assert.Null(history.Previous("one"));
        Assert.Equal("two", history.Next());
        Assert.Equal("draft", history.Next());
        Assert.Null(history.Next());
    }

    [Fact]
    public void The_file_keeps_the_last_thousand_lines_and_is_read_back()
    {
        var path = TemporaryPath();
        try
        {
            File.WriteAllLines(path, Enumerable.Range(0, 1005).Select(i => $"get k{i}").Prepend(""));
            var history = History.Open(path);
            Assert.Equal(History.Capacity, history.Entries.Count);
            history.Add("list");
            var written = File.ReadAllLines(path);
            Assert.Equal(History.Capacity, written.Length);
            Assert.Equal("list", written[^1]);
            Assert.Equal("get k6", written[0]);
            Assert.Equal(written, History.Open(path).Entries);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void An_unwritable_file_costs_the_history_not_the_session()
    {
        var history = History.Open("/proc/kv-cannot-write-here/history");
        history.Add("ping");
        history.Add("list");
        Assert.Equal(["ping", "list"], history.Entries);
        Assert.Equal("list", history.Previous(""));
    }
}

public class CompletionTests
{
    private static Completion Tab(string text) => Completion.For(text, text.Length);

    [Theory]
    [InlineData("se", "set")]
    [InlineData("sete", "setex ")]
    [InlineData("G", "get ")]
    [InlineData("li", "list")]
    [InlineData("help dec", "help decr")]
    [InlineData("help m", "help monitor")]
    [InlineData("get k --j", "get k --json")]
    [InlineData("get \"my key\" --j", "get \"my key\" --json")]
    [InlineData("get \"a \\\" b\" --x", "get \"a \\\" b\" --xml")]
    [InlineData("list --Y", "list --yml")]
    [InlineData("e", "ex")]
    [InlineData("exi", "exit")]
    public void Tab_completes_names_flags_and_help_topics_from_the_table(string typed, string completed)
    {
        var result = Assert.IsType<Completion.Completed>(Tab(typed));
        Assert.Equal(completed, result.Text);
        Assert.Equal(completed.Length, result.Cursor);
    }

    [Fact]
    public void Several_matches_without_a_longer_prefix_are_offered_as_choices()
    {
        Assert.Equal("get k --", Assert.IsType<Completion.Completed>(Tab("get k ")).Text);
        Assert.Equal(["--xml", "--json", "--yml"], Assert.IsType<Completion.Choices>(Tab("get k --")).Words);
        Assert.Equal(Commands.All.Select(c => c.Name), Assert.IsType<Completion.Choices>(Tab("")).Words);
    }

    [Theory]
    [InlineData("set k ")]
    [InlineData("set k a")]
    [InlineData("set k a b")]
    [InlineData("set \"a b\" c")]
    public void In_the_value_of_set_tab_is_a_tab_character(string typed) =>
        Assert.IsType<Completion.TabCharacter>(Tab(typed));

    [Theory]
    [InlineData("get ")]
    [InlineData("set ")]
    [InlineData("nope ")]
    [InlineData("ping x")]
    [InlineData("get k --csv")]
    public void Where_nothing_fits_nothing_is_completed(string typed) =>
        Assert.IsType<Completion.None>(Tab(typed));

    [Theory]
    [InlineData("set", " KEY VALUE")]
    [InlineData("set ", "KEY VALUE")]
    [InlineData("SET k", " VALUE")]
    [InlineData("set k ", "VALUE")]
    [InlineData("set k v", "")]
    [InlineData("set \"my key\" ", "VALUE")]
    [InlineData("set \"my key\" \"a b", "")]
    [InlineData("get k", " [--xml|--json|--yml]")]
    [InlineData("get k --json", "")]
    [InlineData("list", " [--xml|--json|--yml]")]
    [InlineData("help ", "[COMMAND]")]
    [InlineData("ping", "")]
    [InlineData("nope", "")]
    public void The_hint_is_the_rest_of_the_usage(string typed, string hint) =>
        Assert.Equal(hint, Completion.Hint(typed));
}

public class LineEditorTests
{
    private static ConsoleKeyInfo Key(char c, ConsoleKey key = default, bool control = false) =>
        new(c, key == default ? (char.IsAsciiLetter(c)
            ? (ConsoleKey)char.ToUpperInvariant(c) : ConsoleKey.NoName) : key, false, false, control);

    private static ConsoleKeyInfo Control(char letter) => new((char)(letter - 'A' + 1), (ConsoleKey)letter, false,
        false, true);

    private static readonly ConsoleKeyInfo Enter = new('\r', ConsoleKey.Enter, false, false, false);
    private static readonly ConsoleKeyInfo Left = new('\0', ConsoleKey.LeftArrow, false, false, false);
    private static readonly ConsoleKeyInfo Up = new('\0', ConsoleKey.UpArrow, false, false, false);
    private static readonly ConsoleKeyInfo Tab = new('\t', ConsoleKey.Tab, false, false, false);
    private static readonly ConsoleKeyInfo Backspace = new('\x7f', ConsoleKey.Backspace, false, false, false);

    private static IEnumerable<ConsoleKeyInfo> Typed(string text) => text.Select(c => Key(c));

    /// <summary>Runs the editor over the keys: each line it returned (null for the end), and the screen.</summary>
    private static (List<string?> Lines, string Screen) Run(History history, bool colour,
        params IEnumerable<ConsoleKeyInfo>[] keys)
    {
        var queue = new Queue<ConsoleKeyInfo>(keys.SelectMany(k => k));
        var screen = new StringWriter();
        var editor = new LineEditor(history, queue.Dequeue, screen, () => 40, colour);
        var lines = new List<string?>();
        while (queue.Count > 0) lines.Add(editor.ReadLine("KVClient> "));
        return (lines, screen.ToString());
    }

    [Fact]
    public void Control_keys_edit_the_line_and_never_enter_it()
    {
        var (lines, _) = Run(History.Open(null), colour: false,
            Typed("set e abc"), [Control('A'), Control('E'), Key('\x1b', ConsoleKey.Escape), Key('\x07'), Key('\0',
                ConsoleKey.F1)], Typed("d"), [Enter]);
        Assert.Equal(["set e abcd"], lines);
    }

    [Fact]
    public void Alt_b_and_f_and_ctrl_or_alt_arrows_move_by_words()
    {
        var altB = new ConsoleKeyInfo('b', ConsoleKey.B, false, alt: true, false);
        var altF = new ConsoleKeyInfo('f', ConsoleKey.F, false, alt: true, false);
        var ctrlLeft = new ConsoleKeyInfo('\0', ConsoleKey.LeftArrow, false, false, control: true);
        var ctrlRight = new ConsoleKeyInfo('\0', ConsoleKey.RightArrow, false, false, control: true);
        var (lines, _) = Run(History.Open(null), colour: false,
            Typed("set key some value"), [altB, altB], Typed("<"), [altF], Typed(">"), [ctrlLeft, ctrlLeft], Typed("["),
                [ctrlRight], Typed("]"), [Enter]);
        Assert.Equal(["set [key] <some> value"], lines);
    }

    [Fact]
    public void An_emoji_typed_as_two_keys_is_one_character()
    {
        var (lines, _) = Run(History.Open(null), colour: false,
            Typed("set e a😀"), [Backspace], Typed("b😀"), [Left], Typed("c"), [Enter]);
        Assert.Equal(["set e abc😀"], lines);
    }

    [Fact]
    public void Ctrl_d_ends_only_an_empty_line_and_ctrl_c_ends_any_line_with_a_newline()
    {
        var (lines, screen) = Run(History.Open(null), colour: false,
            Typed("ab"), [Left, Control('D'), Enter],
            Typed("half"), [Control('C')],
            [Control('D')]);
        Assert.Equal(["a", null, null], lines);
        Assert.EndsWith("\r\n", screen);
    }

    [Fact]
    public void Up_recalls_the_previous_line_and_tab_completes()
    {
        var history = History.Open(null);
        history.Add("get alpha");
        var (lines, _) = Run(history, colour: false, [Up, Enter], Typed("se"), [Tab], Typed(" k v"), [Tab], Typed("w"),
            [Tab, Enter]);
        Assert.Equal(["get alpha", "set k v\tw\t"], lines);
    }

    [Fact]
    public void With_colour_the_command_is_green_and_the_usage_a_dim_hint_and_without_neither()
    {
        var (_, coloured) = Run(History.Open(null), colour: true, Typed("set "), [Enter]);
        Assert.Contains(Terminal.Green + "set" + Terminal.Reset, coloured);
        Assert.Contains(Terminal.Dim + "KEY VALUE" + Terminal.Reset, coloured);
        var (_, plain) = Run(History.Open(null), colour: false, Typed("set "), [Enter]);
        Assert.DoesNotContain("\e[3", plain);
        Assert.DoesNotContain("KEY VALUE", plain);
    }

    [Fact]
    public void Bidirectional_and_zero_width_characters_typed_are_kept_and_shown_as_marks_not_obeyed()
    {
        var (lines, screen) = Run(History.Open(null), colour: false, Typed("set k a\u202Eb\u200Bc\u2028d"), [Left,
            Left], Typed("!"), [Enter]);
        Assert.Equal(["set k a\u202Eb\u200Bc!\u2028d"], lines);
        Assert.Contains("set k a·b·c!·d", screen);
        Assert.DoesNotContain('\u202E', screen);
        Assert.DoesNotContain('\u200B', screen);
    }

    [Fact]
    public void A_line_wider_than_the_terminal_scrolls_and_is_returned_whole()
    {
        var value = string.Concat(Enumerable.Range(0, 30).Select(i => $"{i:00}"));
        var (lines, screen) = Run(History.Open(null), colour: false, Typed("set long " + value), [Enter]);
        Assert.Equal(["set long " + value], lines);
        Assert.All(screen.Split('\r'), row => Assert.True(Terminal.Width(row.Replace("\e[K", "").Split('\e')[0]) <= 40,
            row));
    }
}

public class TerminalTextTests
{
    [Theory]
    [InlineData("plain text", "plain text")]
    [InlineData("tab\tescaped", "\"tab\\tescaped\"")]
    [InlineData("\"before\\x1b\"", "\"\\\"before\\\\x1b\\\"\"")]
    [InlineData("a\u200Bb", "\"a\\xe2\\x80\\x8bb\"")]
    [InlineData("family 👨\u200D👩\u200D👧", "family 👨\u200D👩\u200D👧")]
    [InlineData("ñandú 日本語", "ñandú 日本語")]
    [InlineData("before\e]0;PWNED\aafter", "\"before\\x1b]0;PWNED\\x07after\"")]
    [InlineData("clear\e[2J \"q\" \\", "\"clear\\x1b[2J \\\"q\\\" \\\\\"")]
    [InlineData("a\rb", "\"a\\rb\"")]
    [InlineData("bidi \u202Eevil", "\"bidi \\xe2\\x80\\xaeevil\"")]
    public void Control_characters_are_shown_escaped_never_obeyed(string value, string shown) =>
        Assert.Equal(shown, Terminal.Visible(value));

    [Theory]
    [InlineData("abc", 3)]
    [InlineData("日本", 4)]
    [InlineData("😀", 2)]
    [InlineData("e\u0301", 1)]
    [InlineData("", 0)]
    public void Width_counts_columns(string text, int columns) => Assert.Equal(columns, Terminal.Width(text));
}

public class LongLineTests
{
    [Fact]
    public async Task A_twenty_thousand_character_paste_and_a_thousand_lefts_cost_what_a_short_line_does()
    {
        var value = string.Concat(Enumerable.Range(0, 4_000).Select(i => $"v{i % 10} é😀"))[..20_000];
        var keys = new Queue<ConsoleKeyInfo>(("set k " + value).Select(c => new ConsoleKeyInfo(c, ConsoleKey.NoName,
            false, false, false))
            .Concat(Enumerable.Repeat(new ConsoleKeyInfo('\0', ConsoleKey.LeftArrow, false, false, false), 1_000))
            .Append(new ConsoleKeyInfo('\r', ConsoleKey.Enter, false, false, false)));
        var editor = new LineEditor(History.Open(null), keys.Dequeue, TextWriter.Null, () => 80, colour: true);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // Each key redraws what fits on a row, not the whole line. Drawing from the start of the line on every key
        // took minutes (13 s for a 2,000-character paste at a terminal); under a second here, so the bound leaves a
        // machine twenty times slower room, and a test that would otherwise run for hours an end.
        var edited = Task.Run(() => editor.ReadLine("KVClient> "), TestContext.Current.CancellationToken);
        Assert.Equal("set k " + value, await edited.WaitAsync(TimeSpan.FromSeconds(20),
            TestContext.Current.CancellationToken));
        TestContext.Current.SendDiagnosticMessage($"21,000 keys on a 20,000-character line: " +
            $"{clock.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task Left_across_a_fifty_thousand_character_line_steps_by_characters_without_walking_from_the_start()
    {
        var text = string.Concat(Enumerable.Repeat("ab😀e\u0301", 10_000));
        var line = new EditBuffer();
        line.Set(text);
        var walk = Task.Run(() =>
        {
            var steps = 0;
            for (; line.Cursor > 0; steps++) line.Left();
            return steps;
        }, TestContext.Current.CancellationToken);
        // 40,000 characters (an emoji and an accented e are one each). Walking from the start on every Left is
        // quadratic: about a minute here; from a little before the cursor, milliseconds.
        Assert.Equal(40_000, await walk.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
    }
}
