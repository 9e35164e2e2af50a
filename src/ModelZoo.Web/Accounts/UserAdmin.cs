using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using ModelZoo.Infrastructure.Accounts;

namespace ModelZoo.Web.Accounts;

public sealed record UserRow(string Id, string UserName, string Role, bool Locked, bool MustChangePassword, DateTimeOffset CreatedAt);

/// <summary>What the admin page does to accounts. Each call works in its own scope, so a circuit that stays open for hours
/// never reads an account through a stale context.</summary>
public sealed class UserAdmin(IServiceScopeFactory scopes)
{
    public async Task<IReadOnlyList<UserRow>> ListAsync()
    {
        await using var scope = scopes.CreateAsyncScope();
        var users = Users(scope);
        var rows = new List<UserRow>();
        foreach (var u in await users.Users.AsNoTracking().OrderBy(u => u.UserName).ToListAsync())
            rows.Add(new UserRow(u.Id, u.UserName ?? "", RoleOf(await users.GetRolesAsync(u)), u.LockoutEnd > DateTimeOffset.UtcNow,
                u.MustChangePassword, u.CreatedAt));
        return rows;
    }

    /// <summary>Creates an account with a one-time password that its holder must change at the first login.</summary>
    /// <returns>The password to hand over, or the reasons it could not be created.</returns>
    public async Task<(string? Password, string? Error)> CreateAsync(string userName, string role)
    {
        if (!ZooRoles.All.Contains(role)) return (null, $"Unknown role '{role}'.");
        await using var scope = scopes.CreateAsyncScope();
        var users = Users(scope);
        var password = AccountsSetup.OneTimePassword();
        var user = new ZooUser { UserName = userName.Trim(), MustChangePassword = true, CreatedAt = DateTimeOffset.UtcNow };
        var created = await users.CreateAsync(user, password);
        if (!created.Succeeded) return (null, string.Join(" ", created.Errors.Select(e => e.Description)));
        await users.AddToRoleAsync(user, role);
        return (password, null);
    }

    /// <summary>Gives an account one role instead of its current one. Admins cannot change their own role, so the last
    /// admin cannot demote themselves by mistake.</summary>
    public async Task<string?> SetRoleAsync(string actingId, string userId, string role)
    {
        if (actingId == userId) return "You cannot change your own role.";
        if (!ZooRoles.All.Contains(role)) return $"Unknown role '{role}'.";
        await using var scope = scopes.CreateAsyncScope();
        var users = Users(scope);
        if (await users.FindByIdAsync(userId) is not { } user) return "No such account.";
        await users.RemoveFromRolesAsync(user, await users.GetRolesAsync(user));
        await users.AddToRoleAsync(user, role);
        // A new stamp makes signed-in browsers pick the new role up at their next validation (within a minute).
        await users.UpdateSecurityStampAsync(user);
        return null;
    }

    /// <summary>Locks an account until an admin unlocks it (its cookie and tokens stop working), or unlocks it.</summary>
    public async Task<string?> SetLockedAsync(string actingId, string userId, bool locked)
    {
        if (actingId == userId) return "You cannot lock your own account.";
        await using var scope = scopes.CreateAsyncScope();
        var users = Users(scope);
        if (await users.FindByIdAsync(userId) is not { } user) return "No such account.";
        await users.SetLockoutEndDateAsync(user, locked ? DateTimeOffset.MaxValue : null);
        if (!locked) await users.ResetAccessFailedCountAsync(user);
        await users.UpdateSecurityStampAsync(user);
        return null;
    }

    static UserManager<ZooUser> Users(AsyncServiceScope scope) => scope.ServiceProvider.GetRequiredService<UserManager<ZooUser>>();

    static string RoleOf(IList<string> roles) =>
        ZooRoles.All.LastOrDefault(roles.Contains) ?? "(none)";
}
