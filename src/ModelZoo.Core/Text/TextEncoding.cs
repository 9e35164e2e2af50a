namespace ModelZoo.Core.Text;

/// <summary>
/// One encoded text, as BERT takes it: <c>[CLS] pieces [SEP]</c> then <c>[PAD]</c>s. All three arrays have
/// <see cref="Length"/> entries; the mask is 1 for a real token (specials included) and 0 for padding; token types
/// are 0 (one segment).
/// </summary>
public sealed record TextEncoding(int[] InputIds, int[] AttentionMask, int[] TokenTypeIds)
{
    public int Length => InputIds.Length;

    /// <summary>Tokens before padding, [CLS] and [SEP] included.</summary>
    public int RealLength => AttentionMask.Sum();

    /// <summary>True when pieces were cut off to fit the maximum length.</summary>
    public bool Truncated { get; init; }
}

/// <summary>How <see cref="WordPieceTokenizer.EncodeBatch"/> pads: to the batch's longest text (saves compute) or
/// always to the maximum length.</summary>
public enum TextPadding { Longest, MaxLength }

/// <summary>A vocabulary or tokenizer configuration that cannot be used, naming the file (or "token list") and why.</summary>
public sealed class VocabularyException(string message) : Exception(message);
