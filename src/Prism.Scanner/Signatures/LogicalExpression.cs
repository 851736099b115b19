using System.Globalization;
using System.Numerics;

namespace Prism.Scanner.Signatures;

/// <summary>
/// The logical expression of an .ldb signature over subsignature match counts, evaluated as ClamAV evaluates it
/// (verified against clamscan 1.4): an expression splits at its first '&amp;' or '|' outside parentheses; a
/// parenthesised block splits at its last operator one level deep and may carry a modifier (<c>=X</c>, <c>&gt;X</c>,
/// <c>&lt;X</c>, optionally <c>,Y</c> distinct subsignatures) comparing the matches its subsignatures produced; a
/// subsignature index may carry <c>=X</c>, <c>&gt;X</c> or <c>&lt;X</c> on its own count (<c>=0</c> negates).
/// Both operands are always evaluated; a true operand adds its match count to its parent's.
/// </summary>
internal sealed class LogicalExpression
{
    private LogicalExpression(string text, int highestIndex, int largestNumber)
    {
        Text = text;
        HighestIndex = highestIndex;
        LargestNumber = largestNumber;
    }

    public string Text { get; }

    /// <summary>The highest subsignature index named: the signature must have exactly this many plus one subsignatures.</summary>
    public int HighestIndex { get; }

    /// <summary>The largest count a modifier compares with (0 without modifiers).</summary>
    public int LargestNumber { get; }

    /// <summary>Validates the syntax as ClamAV does; throws <see cref="FormatException"/> where clamscan refuses the database.</summary>
    public static LogicalExpression Parse(string text)
    {
        int largest = 0;
        int highest = Walk(text, 0, text.Length, null, ref largest, out _, out _);
        return new LogicalExpression(text, highest, largest);
    }

    /// <summary>True when the counts per subsignature satisfy the expression.</summary>
    public bool Evaluate(ReadOnlySpan<int> counts)
    {
        int unused = 0;
        int[] copy = counts.ToArray();
        return Walk(Text, 0, Text.Length, copy, ref unused, out _, out _) == 1;
    }

    /// <summary>
    /// Validation mode (<paramref name="counts"/> null) returns the highest index; evaluation mode returns 1 (true) or 0.
    /// </summary>
    private static int Walk(string s, int start, int end, int[]? counts, ref int largest, out long count, out ulong ids)
    {
        count = 0;
        ids = 0;
        int length = end - start;
        if (length <= 0)
        {
            throw new FormatException($"empty operand in logical expression '{s}'");
        }

        int depth = 0, op = -1, blockOp = -1, blockEnd = -1, modifierAt = -1;
        char modifier = '\0', blockModifier = '\0';
        uint blockValue = 0, blockDistinct = 0;
        for (int i = start; i < end; i++)
        {
            char c = s[i];
            switch (c)
            {
                case '(':
                    depth++;
                    break;
                case ')':
                    if (depth == 0)
                    {
                        throw new FormatException($"missing '(' in logical expression '{s}'");
                    }

                    depth--;
                    (modifier, modifierAt) = (c, i);
                    break;
                case '>' or '<' or '=':
                    (modifier, modifierAt) = (c, i);
                    break;
                case '&' or '|':
                    if (depth == 0)
                    {
                        op = i;
                    }
                    else if (depth == 1)
                    {
                        blockOp = i;
                    }

                    break;
            }

            if (op >= 0)
            {
                break;
            }

            if (blockOp >= 0 && depth == 0)
            {
                blockEnd = i;
                if (i + 1 < end && s[i + 1] is '>' or '<' or '=')
                {
                    blockModifier = s[i + 1];
                    int at = i + 2;
                    blockValue = ReadNumber(s, ref at, end) ?? throw new FormatException($"missing number after '{blockModifier}' in logical expression '{s}'");
                    blockDistinct = 0;
                    if (at < end && s[at] == ',')
                    {
                        at++;
                        blockDistinct = ReadNumber(s, ref at, end) ?? 0;
                    }

                    largest = (int)Math.Max(largest, Math.Min(int.MaxValue - 1, blockValue));
                    for (i += 2; i + 1 < end && (char.IsAsciiDigit(s[i + 1]) || s[i + 1] == ','); i++)
                    {
                    }
                }

                if (i + 1 == end)
                {
                    break;
                }

                blockModifier = '\0';
            }
        }

        if (depth != 0)
        {
            throw new FormatException($"missing ')' in logical expression '{s}'");
        }

        if (op < 0 && blockOp < 0)
        {
            if (s[start] == '(')
            {
                return Walk(s, start + 1, end - 1, counts, ref largest, out count, out ids);
            }

            int at = start;
            uint id = ReadNumber(s, ref at, end) ?? throw new FormatException($"cannot read '{s[start..end]}' in logical expression '{s}'");
            if (id >= 64)
            {
                // ClamAV tracks at most 64 subsignatures (the limit is also checked against the signature's fields).
                throw new FormatException($"subsignature index {id} exceeds 63 in logical expression '{s}'");
            }

            uint value = counts is null ? id : (uint)counts[id];
            uint limit = 0;
            if (modifier != '\0')
            {
                int m = modifierAt + 1;
                limit = ReadNumber(s, ref m, end) ?? throw new FormatException($"missing number after '{modifier}' in logical expression '{s}'");
                largest = (int)Math.Max(largest, Math.Min(int.MaxValue - 1, limit));
            }

            if (counts is null)
            {
                return (int)id;
            }

            bool pass = modifier switch
            {
                '=' => value == limit,
                '<' => value < limit,
                '>' => value > limit,
                '\0' => value > 0,
                _ => false,
            };
            if (!pass)
            {
                return 0;
            }

            count = value;
            ids = 1UL << (int)id;
            return 1;
        }

        int leftStart = start, rightEnd = end, at2 = op;
        if (op < 0)
        {
            at2 = blockOp;
            leftStart = start + 1;
            rightEnd = blockEnd;
        }

        if (at2 == start)
        {
            throw new FormatException($"missing left operand in logical expression '{s}'");
        }

        if (at2 + 1 == end)
        {
            throw new FormatException($"missing right operand in logical expression '{s}'");
        }

        int left = Walk(s, leftStart, at2, counts, ref largest, out long leftCount, out ulong leftIds);
        int right = Walk(s, at2 + 1, rightEnd, counts, ref largest, out long rightCount, out ulong rightIds);
        if (counts is null)
        {
            return Math.Max(left, right);
        }

        bool result = s[at2] == '&' ? left != 0 && right != 0 : left != 0 || right != 0;
        if (blockModifier == '\0')
        {
            if (result)
            {
                count = leftCount + rightCount;
                ids = leftIds | rightIds;
            }

            return result ? 1 : 0;
        }

        long total = result ? leftCount + rightCount : 0;
        ulong totalIds = result ? leftIds | rightIds : 0;
        bool ok = blockModifier switch
        {
            '=' => total == blockValue,
            '<' => total < blockValue,
            '>' => total > blockValue,
            _ => false,
        };
        if (!ok || (blockDistinct != 0 && BitOperations.PopCount(totalIds) < blockDistinct))
        {
            return 0;
        }

        // Like ClamAV, a block with a modifier passes its count up but not which subsignatures produced it.
        count = total;
        return 1;
    }

    /// <summary>Leading decimal digits at <paramref name="at"/> (advanced past them); null when there are none.</summary>
    private static uint? ReadNumber(string s, ref int at, int end)
    {
        int from = at;
        while (at < end && char.IsAsciiDigit(s[at]))
        {
            at++;
        }

        return at > from && uint.TryParse(s.AsSpan(from, at - from), NumberStyles.None, CultureInfo.InvariantCulture, out uint v) ? v : null;
    }
}
