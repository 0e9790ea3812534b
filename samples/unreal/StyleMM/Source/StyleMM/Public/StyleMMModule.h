// The StyleMM module: loads libstylemm from the plugin's ThirdParty folder and checks that
// it is the version of the stylemm.h the plugin was compiled against.
#pragma once

#include "CoreMinimal.h"
#include "Modules/ModuleInterface.h"

STYLEMM_API DECLARE_LOG_CATEGORY_EXTERN(LogStyleMM, Log, All);

class STYLEMM_API FStyleMMModule : public IModuleInterface
{
public:
	virtual void StartupModule() override;
	virtual void ShutdownModule() override;

	// True once libstylemm is loaded and of the right version. Nothing may call into the
	// library before that: on Windows it is delay-loaded, so a call without it would crash.
	static bool IsLibraryReady();
	// Why the library is not ready ("" if it is).
	static FString GetLibraryError();

private:
	void Fail(const FString& Message);

	void* LibraryHandle = nullptr;
	bool bLibraryReady = false;
	FString LibraryError;
};
