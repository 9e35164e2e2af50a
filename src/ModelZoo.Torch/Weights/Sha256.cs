using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace ModelZoo.Torch.Weights;

/// <summary>
/// SHA-256 of weights files, streamed (checkpoints run to gigabytes), and the check against a published hash prefix:
/// torchvision names its files <c>resnet18-f37072fd.pth</c>, where the suffix is the start of the file's sha256.
/// </summary>
public static partial class Sha256
{
    /// <summary>Lower-case hex digest of the file; <paramref name="progress"/> receives the bytes read so far.</summary>
    public static string OfFile(string path, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        return Of(fs, progress, cancellationToken);
    }

    public static string Of(Stream stream, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        long total = 0;
        int n;
        while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            hash.AppendData(buffer, 0, n);
            total += n;
            progress?.Report(total);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>True when <paramref name="sha256Hex"/> starts with <paramref name="publishedPrefix"/> (case-insensitive).</summary>
    public static bool MatchesPrefix(string sha256Hex, string publishedPrefix)
    {
        if (!IsHexPrefix(publishedPrefix))
            throw new ArgumentException($"'{publishedPrefix}' is not a sha256 prefix (1 to 64 hex digits).", nameof(publishedPrefix));
        return sha256Hex.StartsWith(publishedPrefix, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Hashes the file and throws <see cref="WeightsImportException"/> unless it matches; returns the full hash to record.</summary>
    public static string VerifyPrefix(string path, string publishedPrefix, IProgress<long>? progress = null)
    {
        var hex = OfFile(path, progress);
        if (!MatchesPrefix(hex, publishedPrefix))
            throw new WeightsImportException($"{Path.GetFileName(path)}: sha256 {hex} does not start with the published '{publishedPrefix.ToLowerInvariant()}': " +
                "the file is not the published checkpoint (corrupt download or a different file).");
        return hex;
    }

    /// <summary>The hash prefix in a torchvision-style file name (<c>name-&lt;hex&gt;.ext</c>, 8+ hex digits), or null.</summary>
    public static string? PrefixFromFileName(string fileName)
    {
        var m = FileNamePrefix().Match(Path.GetFileName(fileName));
        return m.Success ? m.Groups[1].Value.ToLowerInvariant() : null;
    }

    static bool IsHexPrefix(string s) => s.Length is >= 1 and <= 64 && s.All(Uri.IsHexDigit);

    [GeneratedRegex(@"-([0-9a-fA-F]{8,64})\.[A-Za-z0-9]+$")]
    private static partial Regex FileNamePrefix();
}
