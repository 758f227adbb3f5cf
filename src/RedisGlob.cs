// src/RedisGlob.cs: the patterns of Redis's KEYS, matched as Redis's stringmatchlen matches them: on bytes,
// `*` any run, `?` any one byte, `[abc]` `[^a]` `[a-z]` a set, `\` makes the next byte literal.

namespace KV;

public static class RedisGlob
{
    public static bool Matches(ReadOnlySpan<byte> pattern, ReadOnlySpan<byte> text)
    {
        // Greedy with one backtrack point: the last `*` and where its run of text began.
        int p = 0, t = 0, star = -1, starText = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && pattern[p] == (byte)'*')
            {
                star = p++;
                starText = t;
                continue;
            }
            if (p < pattern.Length && MatchOne(pattern, ref p, text[t]))
            {
                t++;
                continue;
            }
            if (star < 0) return false;
            p = star + 1;
            t = ++starText;
        }
        while (p < pattern.Length && pattern[p] == (byte)'*') p++;
        return p == pattern.Length;
    }

    /// <summary>Whether the pattern element at `p` matches one byte; on a match `p` moves past the element.</summary>
    private static bool MatchOne(ReadOnlySpan<byte> pattern, ref int p, byte c)
    {
        switch (pattern[p])
        {
            case (byte)'?':
                p++;
                return true;
            case (byte)'[':
                return MatchSet(pattern, ref p, c);
            case (byte)'\\' when p + 1 < pattern.Length:
                if (pattern[p + 1] != c) return false;
                p += 2;
                return true;
            default:
                if (pattern[p] != c) return false;
                p++;
                return true;
        }
    }

    /// <summary>`[...]`, `[^...]`, with ranges and `\` escapes; an unclosed set ends at the end of the pattern, as in Redis.</summary>
    private static bool MatchSet(ReadOnlySpan<byte> pattern, ref int p, byte c)
    {
        var i = p + 1;
        var negate = i < pattern.Length && pattern[i] == (byte)'^';
        if (negate) i++;
        var matched = false;
        while (i < pattern.Length && pattern[i] != (byte)']')
        {
            if (pattern[i] == (byte)'\\' && i + 1 < pattern.Length)
            {
                matched |= pattern[i + 1] == c;
                i += 2;
            }
            else if (i + 2 < pattern.Length && pattern[i + 1] == (byte)'-' && pattern[i + 2] != (byte)']')
            {
                var (low, high) = pattern[i] <= pattern[i + 2] ? (pattern[i], pattern[i + 2]) : (pattern[i + 2], pattern[i]);
                matched |= c >= low && c <= high;
                i += 3;
            }
            else
            {
                matched |= pattern[i] == c;
                i++;
            }
        }
        if (matched == negate) return false;
        p = Math.Min(i + 1, pattern.Length);
        return true;
    }
}
