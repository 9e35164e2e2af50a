namespace ModelZoo.Torch.Pretraining;

/// <summary>
/// Packs tokenised documents into full-length training sequences, as transformers' run_mlm.py <c>group_texts</c>
/// does: documents (each followed by [SEP]) are concatenated in order and cut into pieces of length-1 tokens, each
/// after a [CLS]; the last incomplete piece is dropped, so no sequence needs padding or an attention mask.
/// Documents longer than a sequence simply continue into the next one.
/// </summary>
public static class PackedSequences
{
    public static long[,] Pack(IEnumerable<IReadOnlyList<int>> documents, int length, int clsId, int sepId)
    {
        if (length < 2) throw new ArgumentOutOfRangeException(nameof(length), "A sequence holds at least [CLS] and one token.");
        var stream = new List<int>();
        foreach (var d in documents)
        {
            if (d.Count == 0) continue;
            stream.AddRange(d);
            stream.Add(sepId);
        }
        int body = length - 1, n = stream.Count / body;
        var packed = new long[n, length];
        for (int i = 0; i < n; i++)
        {
            packed[i, 0] = clsId;
            for (int j = 0; j < body; j++) packed[i, j + 1] = stream[i * body + j];
        }
        return packed;
    }
}
