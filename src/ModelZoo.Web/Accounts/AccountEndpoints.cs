using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using ModelZoo.Infrastructure.Accounts;

namespace ModelZoo.Web.Accounts;

/// <summary>
/// The form posts of the login, logout and change-password pages. They are endpoints rather than Blazor handlers
/// because only a plain HTTP response can set or clear the cookie; binding form fields turns antiforgery validation on.
/// </summary>
public static class AccountEndpoints
{
    public static IEndpointRouteBuilder MapAccountEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/account/login", async ([FromForm] string? userName, [FromForm] string? password, [FromForm] string? returnUrl,
                SignInManager<ZooUser> signIn, UserManager<ZooUser> users) =>
            {
                var back = SafeReturnUrl(returnUrl);
                if (string.IsNullOrEmpty(userName) || string.IsNullOrEmpty(password)) return LoginAgain("missing", back);
                var result = await signIn.PasswordSignInAsync(userName, password, isPersistent: false, lockoutOnFailure: true);
                if (result.IsLockedOut) return LoginAgain("locked", back);
                if (!result.Succeeded) return LoginAgain("invalid", back);
                var user = await users.FindByNameAsync(userName);
                return Results.LocalRedirect(user!.MustChangePassword ? PasswordChangeGate.ChangePath : back);
            })
            .AllowAnonymous().RequireRateLimiting(AccountsSetup.LoginRateLimit).ExcludeFromDescription();

        app.MapPost("/account/logout", async (SignInManager<ZooUser> signIn) =>
            {
                await signIn.SignOutAsync();
                return Results.LocalRedirect("/account/login");
            })
            .ExcludeFromDescription();

        app.MapPost(PasswordChangeGate.ChangePath, async ([FromForm] string? currentPassword, [FromForm] string? newPassword,
                [FromForm] string? confirmPassword, HttpContext http, SignInManager<ZooUser> signIn, UserManager<ZooUser> users) =>
            {
                if (await users.GetUserAsync(http.User) is not { } user) return Results.Unauthorized();
                if (string.IsNullOrEmpty(newPassword) || newPassword != confirmPassword)
                    return Results.LocalRedirect($"{PasswordChangeGate.ChangePath}?error={Uri.EscapeDataString("The new password and its confirmation differ.")}");
                if (newPassword == currentPassword)
                    return Results.LocalRedirect($"{PasswordChangeGate.ChangePath}?error={Uri.EscapeDataString("Choose a password other than the one-time one.")}");
                var changed = await users.ChangePasswordAsync(user, currentPassword ?? "", newPassword);
                if (!changed.Succeeded)
                    return Results.LocalRedirect($"{PasswordChangeGate.ChangePath}?error={Uri.EscapeDataString(string.Join(" ", changed.Errors.Select(e => e.Description)))}");
                user.MustChangePassword = false;
                await users.UpdateAsync(user);
                await signIn.RefreshSignInAsync(user);
                return Results.LocalRedirect("/");
            })
            .ExcludeFromDescription();
        return app;
    }

    static IResult LoginAgain(string error, string returnUrl) =>
        Results.LocalRedirect($"/account/login?error={error}&returnUrl={Uri.EscapeDataString(returnUrl)}");

    /// <summary>Only a path on this site: an open redirect after login would hand a phishing page a trusted link.</summary>
    static string SafeReturnUrl(string? url) =>
        url is { Length: > 0 } && url.StartsWith('/') && !url.StartsWith("//", StringComparison.Ordinal) && !url.StartsWith("/\\", StringComparison.Ordinal)
            ? url : "/";
}
