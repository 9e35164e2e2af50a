using ModelZoo.Torch.Pipeline;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Text;
using ModelZoo.Torch.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Training;

/// <summary>
/// Turns texts into packed BERT batches (<see cref="TextBatch"/>: int64 <c>[B, 3, L]</c>, rows ids, mask, types).
/// L is the longest text of the batch, not the maximum length: attention costs grow with L², and most batches of
/// short texts would otherwise be mostly padding.
/// <para>
/// Each text is tokenised once, on first use, and its pieces kept: later epochs only pack. Texts are tokenised
/// whole, so the pieces kept for truncation are the same as Hugging Face's.
/// </para>
/// </summary>
public sealed class TextBatcher : IBatchSource
{
    readonly TextSet _texts;
    readonly WordPieceTokenizer _tokenizer;
    readonly Device _device;
    readonly int[]?[] _pieces;

    public int MaxLength { get; }

    /// <summary>The texts, the vocabulary and the length: hashed once, on first use.</summary>
    public string Fingerprint => _fingerprint ??= ComputeFingerprint();
    string? _fingerprint;

    static string TokenizerFingerprint(WordPieceTokenizer t)
    {
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (var token in t.Tokens) { sha.AppendData(System.Text.Encoding.UTF8.GetBytes(token)); sha.AppendData([0]); }
        return $"{Convert.ToHexStringLower(sha.GetHashAndReset())[..16]}:lower{t.Lowercase}:strip{t.StripAccents}";
    }

    string ComputeFingerprint()
    {
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (var t in _texts.Texts) { sha.AppendData(System.Text.Encoding.UTF8.GetBytes(t)); sha.AppendData([0]); }
        return $"texts:{Convert.ToHexStringLower(sha.GetHashAndReset())[..16]}:{_texts.Count}:vocab{_tokenizer.VocabSize}:{TokenizerFingerprint(_tokenizer)}:max{MaxLength}";
    }

    public TextBatcher(TextSet texts, WordPieceTokenizer tokenizer, int maxLength, Device device)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (maxLength < 3) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "A text batch needs room for [CLS], one token and [SEP].");
        if (texts.Texts.Count != texts.Labels.Length)
            throw new ArgumentException($"The text set has {texts.Texts.Count} texts but {texts.Labels.Length} labels.", nameof(texts));
        _texts = texts; _tokenizer = tokenizer; _device = device; MaxLength = maxLength;
        _pieces = new int[]?[texts.Count];
    }

    /// <summary>Packed ids/mask/types <c>[B, 3, L]</c> and labels <c>[B]</c> (int64), on the device. Every factory
    /// names its device rather than trust libtorch's process-wide default (see TorchRuntime.BuildDevice).</summary>
    public Prefetcher<TrainingBatch> Train(int[] order, int batchSize, int epoch, int seed, bool augment, CancellationToken ct) =>
        Stream(order, batchSize, ct);

    public Prefetcher<TrainingBatch> Eval(int[] indices, int batchSize, CancellationToken ct) => Stream(indices, batchSize, ct);

    // Texts have no augmentation here; tokenising is cheap and cached per text, so one worker keeps a step fed.
    // The pieces cache is filled by that single worker only, which is why there is no more than one.
    Prefetcher<TrainingBatch> Stream(int[] indices, int batchSize, CancellationToken ct)
    {
        int batches = (indices.Length + batchSize - 1) / batchSize;
        return new Prefetcher<TrainingBatch>(batches, (b, _) =>
        {
            var (x, y) = Batch(indices.AsSpan(b * batchSize, Math.Min(batchSize, indices.Length - b * batchSize)));
            return new TrainingBatch(x, y);
        }, workers: 1, depth: 2, ct);
    }

    public void Dispose() { }

    public (Tensor X, Tensor Y) Batch(ReadOnlySpan<int> indices)
    {
        int n = indices.Length;
        if (n == 0) throw new ArgumentException("A batch needs at least one index.", nameof(indices));
        var pieces = new int[n][];
        var length = 0;
        for (int i = 0; i < n; i++)
        {
            var k = indices[i];
            pieces[i] = _pieces[k] ??= _tokenizer.Tokenize(_texts.Texts[k]).ToArray();
            length = Math.Max(length, Math.Min(pieces[i].Length, MaxLength - 2) + 2);
        }

        var packed = new long[n * TextBatch.Rows * length];
        var labels = new long[n];
        for (int i = 0; i < n; i++)
        {
            var e = _tokenizer.FromPieces(pieces[i], MaxLength, padTo: length);
            var row = i * TextBatch.Rows * length;
            for (int t = 0; t < length; t++)
            {
                packed[row + t] = e.InputIds[t];
                packed[row + length + t] = e.AttentionMask[t];
                packed[row + 2 * length + t] = e.TokenTypeIds[t];
            }
            labels[i] = _texts.Labels[indices[i]];
        }
        using var scope = NewDisposeScope();
        var x = tensor(packed, [n, TextBatch.Rows, length], device: CPU).to(_device);
        var y = tensor(labels, device: CPU).to(_device);
        return (x.MoveToOuterDisposeScope(), y.MoveToOuterDisposeScope());
    }
}
