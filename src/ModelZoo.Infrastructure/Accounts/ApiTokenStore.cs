using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using ModelZoo.Infrastructure.Persistence;

namespace ModelZoo.Infrastructure.Accounts;

/// <summary>A token as its owner sees it in the list: never the token itself.</summary>
public sealed record ApiTokenView(Guid Id, string Name, string Prefix, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt);

/// <summary>
/// Personal API tokens: 32 random bytes, base64url, prefixed <c>mzt_</c> so a leaked one is recognisable in logs and
/// by secret scanners. Only the SHA-256 is stored; a random 256-bit token needs no salt or slow hash, since nobody can
/// guess its way to a hash of it.
/// </summary>
public sealed class ApiTokenStore(IDbContextFactory<ZooDbContext> dbs, TimeProvider clock)
{
    public const string TokenPrefix = "mzt_";
    public const int MaxNameLength = 100;

    /// <summary>Makes a token; the returned text is the only copy there will ever be.</summary>
    public async Task<(ApiTokenView View, string Token)> CreateAsync(string userId, string name, CancellationToken ct = default)
    {
        name = name.Trim();
        if (name.Length is 0 or > MaxNameLength) throw new ArgumentException($"A token's name has 1 to {MaxNameLength} characters.", nameof(name));
        var token = TokenPrefix + Base64Url(RandomNumberGenerator.GetBytes(32));
        var record = new ApiTokenRecord
        {
            Id = Guid.CreateVersion7(), UserId = userId, Name = name, Hash = Hash(token), Prefix = token[..10], CreatedAt = clock.GetUtcNow(),
        };
        await using var db = await dbs.CreateDbContextAsync(ct);
        db.ApiTokens.Add(record);
        await db.SaveChangesAsync(ct);
        return (View(record), token);
    }

    public async Task<IReadOnlyList<ApiTokenView>> ListAsync(string userId, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var rows = await db.ApiTokens.AsNoTracking().Where(t => t.UserId == userId).ToListAsync(ct);
        return rows.OrderByDescending(t => t.CreatedAt).Select(View).ToList();
    }

    /// <summary>Revokes one of the user's own tokens; false when they have no such token.</summary>
    public async Task<bool> RevokeAsync(string userId, Guid id, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var now = clock.GetUtcNow();
        return await db.ApiTokens.Where(t => t.Id == id && t.UserId == userId && t.RevokedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.RevokedAt, now), ct) == 1;
    }

    /// <summary>The owner of a live token, or null.</summary>
    public async Task<string?> FindOwnerAsync(string token, CancellationToken ct = default)
    {
        if (!token.StartsWith(TokenPrefix, StringComparison.Ordinal) || token.Length > 100) return null;
        var hash = Hash(token);
        await using var db = await dbs.CreateDbContextAsync(ct);
        var row = await db.ApiTokens.FirstOrDefaultAsync(t => t.Hash == hash && t.RevokedAt == null, ct);
        if (row is null) return null;
        // Last use to the minute is enough for "is this token still in use?", and spares a write per request.
        var now = clock.GetUtcNow();
        if (row.LastUsedAt is null || now - row.LastUsedAt > TimeSpan.FromMinutes(1))
        {
            row.LastUsedAt = now;
            await db.SaveChangesAsync(ct);
        }
        return row.UserId;
    }

    static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    static ApiTokenView View(ApiTokenRecord r) => new(r.Id, r.Name, r.Prefix, r.CreatedAt, r.LastUsedAt, r.RevokedAt);
}
